"""What Keras does not save by itself."""


class SavesSeedState:
    """Mixin for a layer or model: saves `self.seed_generator`'s state with its weights.

    Keras saves no `SeedGenerator` state, so a model loaded from a `.keras`
    checkpoint would draw the random numbers of its first steps again
    instead of continuing. Files written without the state still load (the
    generator then starts from its seed).
    """

    _SEED_STATE = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_STATE] = self.seed_generator.state

    def load_own_variables(self, store):
        keys = list(store.keys())
        super().load_own_variables({k: store[k] for k in keys if k != self._SEED_STATE})
        if self._SEED_STATE in keys:
            self.seed_generator.state.assign(store[self._SEED_STATE])
