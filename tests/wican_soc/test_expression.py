"""Safe formula evaluator."""

import pytest

from services.wican_soc.expression import (
    ExpressionError,
    PayloadTooShortError,
    compile_expression,
)

PAYLOAD = bytes([0x62, 0x02, 0x8C, 0xC8, 0x01, 0xFF, 0x80, 0x0A])


def value(source: str, payload: bytes = PAYLOAD) -> float:
    return compile_expression(source).evaluate(payload)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("P3", 200),
        ("P3 / 2.5", 80.0),
        ("P3 * 0.4425 - 6.1947", 200 * 0.4425 - 6.1947),
        ("(P3 - 20) * 10 / 22", 1800 / 22),
        ("P3 // 3", 66),
        ("P3 % 7", 4),
        ("2 ** 10", 1024),
        ("-P3", -200),
        ("+P3", 200),
        ("~P1", -3),
        ("P3 & 0x0F", 0x08),
        ("P3 | 1", 201),
        ("P3 ^ 0xFF", 0x37),
        ("P4 << 8 | P5", 0x1FF),
        ("P3 >> 4", 0x0C),
        ("min(P3, P4, 7)", 1),
        ("max(P3, P5)", 255),
        ("abs(P4 - P3)", 199),
        ("round(P3 / 3)", 67),
        ("round(P3 / 3, 2)", 66.67),
        ("signed(P6, 8)", -128),
        ("signed(P5, 8)", -1),
        ("signed(P3, 16)", 200),
        ("signed(be(P5, P6), 16)", -128),
        ("be(P4, P5)", 0x01FF),
        ("le(P4, P5)", 0xFF01),
        ("be(P3, P4, P5) / 10000", 0xC801FF / 10000),
        ("be(P7)", 10),
        ("1.5e1", 15.0),
        ("((P3))", 200),
        ("  P3  ", 200),
    ],
)
def test_evaluates(source: str, expected: float) -> None:
    assert value(source) == pytest.approx(expected)


def test_leaf_formula_on_real_payload_bytes() -> None:
    payload = bytes(33) + bytes([0x0C, 0x87, 0x0A])
    assert value("((P33*65536)+(P34*256+P35))/10000", payload) == pytest.approx(82.1002)
    assert value("be(P33, P34, P35) / 10000", payload) == pytest.approx(82.1002)


def test_max_index_lists_highest_byte() -> None:
    assert compile_expression("P3 + P41 * P7").max_index == 41
    assert compile_expression("42").max_index == -1


def test_compiled_once_evaluated_many_times() -> None:
    expression = compile_expression("P0 * 2")
    assert [expression.evaluate(bytes([n])) for n in range(5)] == [0, 2, 4, 6, 8]
    assert expression.source == "P0 * 2"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("P3 +", "syntax error"),
        ("x + 1", "unknown name 'x'"),
        ("B3", "unknown name 'B3'"),
        ("P03", "unknown name 'P03'"),
        ("p3", "unknown name 'p3'"),
        ("P4096", "larger than 4095"),
        ("__import__('os')", "function '__import__' is not allowed"),
        ("eval('1')", "function 'eval' is not allowed"),
        ("P3.real", "Attribute is not allowed"),
        ("P3.bit_length()", "not allowed"),
        ("[P3][0]", "not allowed"),
        ("P3 if P4 else 0", "IfExp is not allowed"),
        ("P3 < 4", "Compare is not allowed"),
        ("P3 and P4", "BoolOp is not allowed"),
        ("not P3", "operator Not is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("'text'", "only numbers"),
        ("True", "only numbers"),
        ("1j", "only numbers"),
        ("P3 @ P4", "operator MatMult is not allowed"),
        ("min", "function 'min' must be called"),
        ("min(P3)", "min() takes 2..any arguments, got 1"),
        ("abs(P3, P4)", "abs() takes 1 arguments, got 2"),
        ("signed(P3)", "signed() takes 2 arguments"),
        ("round(P3, 1, 2)", "round() takes 1..2 arguments"),
        ("be()", "be() takes 1..8 arguments"),
        ("max(P3, key=P4)", "no keyword arguments"),
        ("max(*P3)", "no *arguments"),
        ("(P3 := 1)", "NamedExpr is not allowed"),
        ("P3; P4", "syntax error"),
        ("P3 " * 200, "longer than 500"),
    ],
)
def test_rejects_at_compile_time(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source)
    assert message in str(info.value)


def test_compile_error_quotes_the_formula_and_column() -> None:
    with pytest.raises(ExpressionError, match=r"'P3 \+ foo' at column 6: unknown name 'foo'"):
        compile_expression("P3 + foo")


def test_payload_too_short_is_its_own_error() -> None:
    expression = compile_expression("be(P3, P4) / 100")
    with pytest.raises(PayloadTooShortError, match="reads P4 but the payload has 4 bytes"):
        expression.evaluate(bytes(4))
    assert expression.evaluate(bytes([0, 0, 0, 1, 0])) == pytest.approx(2.56)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("P3 / P1 / (P4 - 1)", "division by zero"),
        ("P3 % (P4 - 1)", "division by zero"),
        ("P3 // (P4 - 1)", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("2 ** 65", "exponent 65 is larger than 64"),
        ("P3 ** P5", "exponent 255 is larger than 64"),
        ("(2 ** 64) ** 64 ** 1", "too large"),
        ("(-1) ** 0.5", "not a real number"),
        ("10.0 ** 60 ** 1 * 1e300", "not finite"),
        ("P3 << 65", "shift by 65"),
        ("P3 >> -1", "shift by -1"),
        ("P3 / 2 & 1", "'&' needs integers"),
        ("~(P3 / 2)", "'~' needs an integer"),
        ("signed(P3 / 2, 8)", "signed() needs integers"),
        ("signed(P3, 0)", "bits must be 1..64"),
        ("be(P3, 256)", "take bytes 0..255"),
        ("le(P3 / 2)", "take bytes 0..255"),
        ("round(P3, 0.5)", "digits must be an integer"),
        ("10.0 ** 64 ** 1 * 10.0 ** 64 * 10.0 ** 64 * 10.0 ** 64 * 10.0 ** 64", "not finite"),
    ],
)
def test_runtime_errors_are_expression_errors(source: str, message: str) -> None:
    expression = compile_expression(source)
    with pytest.raises(ExpressionError) as info:
        expression.evaluate(PAYLOAD)
    assert message in str(info.value)
