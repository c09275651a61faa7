"""Temporary bridge while the engine is being built (removed in the same release)."""


class _Result(dict):
    @property
    def is_complete(self) -> bool:
        return "test" in self

    def summary(self, out: str) -> str:
        if self.get("head") == "siamese":
            from zoo_tools.train.siamese import summary
        elif self.get("head") == "celltype":
            from zoo_tools.train.celltype import summary
        else:
            from zoo_tools.train.finetune import summary
        return summary(self, out)


def run(recipe, out, callbacks=()):
    from zoo_tools.train.finetune import run as run_any

    return _Result(run_any(recipe, out, callbacks))
