"""LineSplitter: a watch body cut into lines however the network split it into chunks."""

from __future__ import annotations

import pytest

from statuswatch.watchlist.lines import LineSplitter, LineTooLong


def split(*chunks: bytes, max_line: int = 1024) -> list[bytes]:
    splitter = LineSplitter(max_line)
    lines: list[bytes] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    return lines + splitter.flush()


def test_a_line_split_across_chunks_comes_out_whole() -> None:
    assert split(b'{"type":', b'"ADDED"', b"}\n") == [b'{"type":"ADDED"}']


def test_several_lines_in_one_chunk() -> None:
    assert split(b"a\nbb\nccc\n") == [b"a", b"bb", b"ccc"]


def test_lines_come_out_as_soon_as_their_end_arrives() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == [b"one"]
    assert splitter.feed(b"o") == []
    assert splitter.feed(b"\nthree\n") == [b"two", b"three"]
    assert splitter.flush() == []


def test_crlf_line_ends_even_when_the_cr_ends_a_chunk() -> None:
    assert split(b"a\r\nb\r", b"\nc\r\n") == [b"a", b"b", b"c"]


def test_a_trailing_partial_line_is_flushed_at_the_end_of_the_body() -> None:
    assert split(b"a\nlast", b" line") == [b"a", b"last line"]


def test_blank_lines_are_dropped() -> None:
    assert split(b"\n\na\n  \n", b"\r\n", b"b") == [b"a", b"b"]


def test_every_split_of_a_body_gives_the_same_lines() -> None:
    body = b'{"a":1}\n{"b":[2,3]}\r\n\n{"c":"x\\ny"}'
    expected = [b'{"a":1}', b'{"b":[2,3]}', b'{"c":"x\\ny"}']
    for cut in range(len(body) + 1):
        assert split(body[:cut], body[cut:]) == expected, cut
    assert split(*(body[i : i + 1] for i in range(len(body)))) == expected


def test_an_oversized_line_spread_over_chunks_is_refused_before_it_is_whole() -> None:
    splitter = LineSplitter(max_line=10)
    assert splitter.feed(b"ok\n12345") == [b"ok"]
    with pytest.raises(LineTooLong, match="more than 10 bytes"):
        splitter.feed(b"678901")
    assert splitter.feed(b"\nnext\n") == [b"next"]  # the rest of the refused line is dropped


def test_an_oversized_line_within_one_chunk_is_refused() -> None:
    with pytest.raises(LineTooLong, match="12 bytes"):
        LineSplitter(max_line=10).feed(b"123456789012\n")


def test_a_line_of_exactly_the_limit_passes() -> None:
    assert split(b"12345", b"67890\n", max_line=10) == [b"1234567890"]
    assert issubclass(LineTooLong, ValueError)  # the stream counts it like any malformed answer
