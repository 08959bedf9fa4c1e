from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

class Signal:
    def connect(self, receiver: _F, *, sender: Any = None, weak: bool = True) -> _F: ...

worker_init: Signal
task_prerun: Signal
