"""Safe arithmetic for profile value formulas (parsed with `ast`, never eval'd).

Names: `P0`..`P4095` are the bytes of the reassembled ISO-TP payload, `P0` being the
positive-response SID (`62` for a `22` request), as docs/protocol-wican-isotp.md#byte-positions
explains.
Operators: + - * / // % ** (exponent at most 64), unary + - ~, & | ^ << >> (shift at most 64),
parentheses, int and float literals.
Functions: min, max, abs, round(x[, digits]), signed(x, bits) (two's complement),
be(a, b, ...) and le(a, b, ...) (bytes joined big- / little-endian, e.g. be(P3, P4)).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_SOURCE = 500
MAX_INDEX = 4095
MAX_EXPONENT = 64
MAX_SHIFT = 64
MAX_INT_BITS = 4096

Number = int | float
Evaluator = Callable[[bytes], Number]

_NAME = re.compile(r"P(0|[1-9][0-9]*)")


class ExpressionError(ValueError):
    """A formula that cannot be compiled or evaluated."""


class PayloadTooShortError(ExpressionError):
    """The formula references a byte beyond the payload."""


def _signed(value: Number, bits: Number) -> int:
    if not isinstance(value, int) or not isinstance(bits, int):
        raise ExpressionError("signed() needs integers")
    if not 1 <= bits <= 64:
        raise ExpressionError(f"signed() bits must be 1..64, got {bits}")
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _join(values: tuple[Number, ...], little: bool) -> int:
    result = 0
    for value in reversed(values) if little else values:
        if not isinstance(value, int) or not 0 <= value <= 0xFF:
            raise ExpressionError(f"be()/le() take bytes 0..255, got {value!r}")
        result = (result << 8) | value
    return result


def _round(value: Number, digits: Number = 0) -> Number:
    if not isinstance(digits, int):
        raise ExpressionError("round() digits must be an integer")
    return round(value, digits)


# name -> (function, min args, max args or None)
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "signed": (_signed, 2, 2),
    "be": (lambda *v: _join(v, little=False), 1, 8),
    "le": (lambda *v: _join(v, little=True), 1, 8),
}


def _pow(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise ExpressionError(f"exponent {exponent} is larger than {MAX_EXPONENT}")
    if isinstance(base, int) and base.bit_length() * abs(exponent) > MAX_INT_BITS:
        raise ExpressionError(f"{base} ** {exponent} is too large")
    result = base**exponent
    if isinstance(result, complex):
        raise ExpressionError(f"{base} ** {exponent} is not a real number")
    return result


def _int_op(op: Callable[[int, int], int], symbol: str) -> Callable[[Number, Number], int]:
    def apply(left: Number, right: Number) -> int:
        if not isinstance(left, int) or not isinstance(right, int):
            raise ExpressionError(f"'{symbol}' needs integers, got {left!r} and {right!r}")
        if symbol in ("<<", ">>") and not 0 <= right <= MAX_SHIFT:
            raise ExpressionError(f"shift by {right} is outside 0..{MAX_SHIFT}")
        return op(left, right)

    return apply


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _pow,
    ast.BitAnd: _int_op(operator.and_, "&"),
    ast.BitOr: _int_op(operator.or_, "|"),
    ast.BitXor: _int_op(operator.xor, "^"),
    ast.LShift: _int_op(operator.lshift, "<<"),
    ast.RShift: _int_op(operator.rshift, ">>"),
}


def _invert(value: Number) -> int:
    if not isinstance(value, int):
        raise ExpressionError(f"'~' needs an integer, got {value!r}")
    return ~value


_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: _invert,
}


@dataclass(frozen=True)
class Expression:
    """A compiled formula; `max_index` is the highest payload byte it reads (-1 if none)."""

    source: str
    max_index: int
    _run: Evaluator

    def evaluate(self, payload: bytes) -> Number:
        """Value of the formula for `payload`; raises ExpressionError on any failure."""
        if self.max_index >= len(payload):
            raise PayloadTooShortError(
                f"'{self.source}' reads P{self.max_index} but the payload has {len(payload)} bytes"
            )
        try:
            result = self._run(payload)
        except ZeroDivisionError:
            raise ExpressionError(f"'{self.source}': division by zero") from None
        except (ExpressionError, OverflowError) as exc:
            raise ExpressionError(f"'{self.source}': {exc}") from None
        if isinstance(result, float) and not math.isfinite(result):
            raise ExpressionError(f"'{self.source}': result is not finite")
        return result


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.max_index = -1

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        column = getattr(node, "col_offset", None)
        where = f" at column {column + 1}" if column is not None else ""
        return ExpressionError(f"'{self.source}'{where}: {message}")

    def build(self, node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(node, f"only numbers are allowed, got {value!r}")
            return lambda _payload: value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
            left, right = self.build(node.left), self.build(node.right)
            return lambda payload: op(left(payload), right(payload))
        if isinstance(node, ast.UnaryOp):
            unary = _UNARY.get(type(node.op))
            if unary is None:
                raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
            operand = self.build(node.operand)
            return lambda payload: unary(operand(payload))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{type(node).__name__} is not allowed in a formula")

    def name(self, node: ast.Name) -> Evaluator:
        match = _NAME.fullmatch(node.id)
        if match is None:
            if node.id in FUNCTIONS:
                raise self.fail(node, f"function '{node.id}' must be called")
            raise self.fail(node, f"unknown name '{node.id}' (payload bytes are P0..P{MAX_INDEX})")
        index = int(match.group(1))
        if index > MAX_INDEX:
            raise self.fail(node, f"byte index {index} is larger than {MAX_INDEX}")
        self.max_index = max(self.max_index, index)
        return lambda payload: payload[index]

    def call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            shown = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise self.fail(node, f"function '{shown}' is not allowed (allowed: {allowed})")
        name = node.func.id
        if node.keywords:
            raise self.fail(node, f"{name}() takes no keyword arguments")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.fail(node, f"{name}() takes no *arguments")
        function, low, high = FUNCTIONS[name]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"{low}..{high or 'any'}"
            raise self.fail(node, f"{name}() takes {wanted} arguments, got {count}")
        args = [self.build(arg) for arg in node.args]
        return lambda payload: function(*(arg(payload) for arg in args))


def compile_expression(source: str) -> Expression:
    """Parse and validate `source` once; evaluate the result many times."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("formula is empty")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"formula is longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"'{source}': syntax error ({exc.msg})") from None
    compiler = _Compiler(source)
    run = compiler.build(tree.body)
    return Expression(source, compiler.max_index, run)
