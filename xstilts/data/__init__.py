"""Loading sources (Hub, local mirror, CCGbank), normalizing them to canonical rows, reading
prepared data, and translating training data."""


