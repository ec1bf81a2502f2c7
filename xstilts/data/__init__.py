"""Loading sources (Hub, local mirror, CCGbank: `sources`; what a run reads: `needs`; pinning their
revisions: `pins`), normalizing them to canonical rows (`normalize/`), writing prepared data
(`prepare`) and reading it back (`read_prepared`), translating training data (`translate`), and the
fixture mirror (`fixtures/`)."""
