# Type stubs for the parts of Celery this project uses (Celery ships no type information): the
# app in casestudy/celery.py and the tasks declared with shared_task.
from collections.abc import Callable
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeVar, overload

_P = ParamSpec("_P")
_R = TypeVar("_R")

class AsyncResult:
    id: str
    def get(self, timeout: float | None = None, propagate: bool = True) -> Any: ...

class Task(Generic[_P, _R]):
    name: str
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def delay(self, *args: _P.args, **kwargs: _P.kwargs) -> AsyncResult: ...
    def apply_async(
        self,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> AsyncResult: ...

@overload
def shared_task(fun: Callable[_P, _R], /) -> Task[_P, _R]: ...
@overload
def shared_task(
    *, bind: Literal[True], **options: Any
) -> Callable[[Callable[Concatenate[Any, _P], _R]], Task[_P, _R]]: ...
@overload
def shared_task(
    *, bind: Literal[False] = False, **options: Any
) -> Callable[[Callable[_P, _R]], Task[_P, _R]]: ...

class Celery:
    conf: Any
    def __init__(self, main: str | None = None, **kwargs: Any) -> None: ...
    def config_from_object(
        self, obj: object, silent: bool = False, force: bool = False, namespace: str | None = None
    ) -> None: ...
    def autodiscover_tasks(
        self, packages: Any = None, related_name: str = "tasks", force: bool = False
    ) -> None: ...
