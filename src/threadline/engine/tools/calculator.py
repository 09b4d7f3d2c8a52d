"""Arithmetic without `eval`: the expression is parsed, and only numbers and operators run."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable

from langchain_core.tools import StructuredTool

__all__ = ("calculator", "evaluate")

_MAX_CHARS = 200
_MAX_EXPONENT = 256
_MAX_POWER_BASE = 10**6

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression: numbers, + - * / // % ** and parentheses.

    Raises:
        ValueError: Anything else (names, calls, attributes), a division by zero, or an
            expression too large to compute quickly.
    """
    text = expression.replace("\u00d7", "*").replace("\u00f7", "/").replace("^", "**").strip()
    if not text or len(text) > _MAX_CHARS:
        msg = f"give an expression of 1-{_MAX_CHARS} characters"
        raise ValueError(msg)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from None
    try:
        return _value(tree.body)
    except ZeroDivisionError:
        raise ValueError("division by zero") from None


def _value(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValueError("only numbers, + - * / // % ** and parentheses are allowed")
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and (
            abs(right) > _MAX_EXPONENT or abs(left) > _MAX_POWER_BASE
        ):
            msg = "that power is too large to compute"
            raise ValueError(msg)
        return _BINARY[type(node.op)](left, right)
    msg = "only numbers, + - * / // % ** and parentheses are allowed"
    raise ValueError(msg)


def _format(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}" if isinstance(value, float) else str(value)


async def _calculate(expression: str) -> str:
    return f"{expression.strip()} = {_format(evaluate(expression))}"


calculator = StructuredTool.from_function(
    coroutine=_calculate,
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly, e.g. '12.5 * (3 + 4) / 2' or '2 ** 10'. "
        "Supports + - * / // % ** and parentheses."
    ),
)
