"""The tiny profile's synthetic multilingual world: grammars, rendering, and every task's twin in
its Hub source's exact schema."""


