"""Reader for nextgnn graph streams (docs/FORMAT.md), needing only numpy.

    from nextgnn_stream import read_stream, to_pyg
    for g in read_stream("train.gs"):          # or a binary file object, e.g. sys.stdin.buffer
        print(g["dataset_id"], g["x"].shape, g["edge_index"].shape)
    data_list = [to_pyg(g) for g in read_stream("train.gs")]   # needs torch_geometric

Each graph is a dict of numpy arrays: x float32 [N, F], edge_index int64 [2, E],
edge_attr float32 [E, G], edge_weight float32 [E] (None when the stream has none),
y int64 [N] (None when unlabelled), coords int64 [N, C], and the ints binclass,
dataset_id, fnum, num_nodes. Malformed input raises StreamError naming the byte offset and
the number of graphs read.
"""

import io
import struct

import numpy as np

MAGIC = b"\x89NXG\r\n\x1a\n"
VERSION = 1
MAX_FRAME = 1 << 28
MAX_HEADER = 1 << 20
MAX_NODES = MAX_FRAME
FLAG_PAIRED, FLAG_Y, FLAG_WEIGHT = 1, 2, 4
_SIGNED = {1: "<i1", 2: "<i2", 4: "<i4", 8: "<i8"}
_UNSIGNED = {1: "<u1", 2: "<u2", 4: "<u4"}

__all__ = ["StreamError", "StreamReader", "read_stream", "to_pyg", "MAGIC", "VERSION"]


class StreamError(ValueError):
    """A malformed stream; the message names the source, byte offset and graphs read."""


class _Cursor:
    """bincode 2 standard-config decoding over one in-memory record."""

    def __init__(self, buf):
        self.buf = memoryview(buf)
        self.pos = 0

    def take(self, n):
        if n > len(self.buf) - self.pos:
            raise ValueError(f"needs {n} bytes at offset {self.pos}, only {len(self.buf) - self.pos} left")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def varint(self, max_bytes=8):
        tag = self.u8()
        if tag < 251:
            return tag
        width = {251: 2, 252: 4, 253: 8}.get(tag)
        if width is None or width > max_bytes:
            raise ValueError(f"invalid varint tag {tag}")
        return int.from_bytes(self.take(width), "little")

    def zigzag(self):
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def boolean(self):
        b = self.u8()
        if b > 1:
            raise ValueError(f"invalid bool byte {b}")
        return b == 1

    def blob(self):
        return self.take(self.varint())

    def string(self):
        return bytes(self.blob()).decode("utf-8")

    def strings(self):
        n = self.varint()
        if n > len(self.buf) - self.pos:  # each string takes at least its length byte
            raise ValueError(f"list of {n} strings longer than the header")
        return [self.string() for _ in range(n)]


class StreamReader:
    """Iterates the graphs of one stream (a path, '-' for stdin, or a binary file object)."""

    def __init__(self, source):
        if source == "-":
            import sys
            self.name, self._f, self._own = "-", sys.stdin.buffer, False
        elif isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
            self.name, self._f, self._own = str(source), open(source, "rb", buffering=1 << 20), True
        else:
            self.name, self._f, self._own = getattr(source, "name", "<stream>"), source, False
        self.offset = 0
        self.graphs = 0
        self.provenance = []
        first = self._read(4)
        if not first:
            self._fail(0, "empty input: not a graph stream")
        if first != MAGIC[:4]:
            self._fail(0, "not a nextgnn graph stream (wrong magic bytes)")
        self.schema = self._header_rest()

    def _fail(self, at, what):
        raise StreamError(f"{self.name}: {what} (at byte {at}, after {self.graphs} graphs)")

    def _read(self, n):
        parts, got = [], 0
        while got < n:
            b = self._f.read(n - got)
            if not b:
                break
            parts.append(b)
            got += len(b)
        data = b"".join(parts)
        self.offset += len(data)
        return data

    def _header_rest(self):
        start = self.offset - 4
        rest = self._read(10)
        if len(rest) < 10:
            self._fail(start, "truncated stream header")
        if rest[:4] != MAGIC[4:]:
            self._fail(start, "not a nextgnn graph stream (wrong magic bytes)")
        version, length = struct.unpack("<HI", rest[4:])
        if version != VERSION:
            self._fail(start, f"stream format version {version}, this reader reads version {VERSION}")
        if length > MAX_HEADER:
            self._fail(start, f"header claims {length} bytes, more than the 1 MiB limit")
        body = self._read(length)
        if len(body) < length:
            self._fail(start, "truncated stream header")
        try:
            c = _Cursor(body)
            schema = {
                "node_features": c.strings(),
                "edge_features": c.strings(),
                "num_node_classes": c.varint(4),
                "has_node_labels": c.boolean(),
                "coord_names": c.strings(),
            }
            prov = c.string()
            if c.pos != len(body):
                raise ValueError("trailing bytes in header")
        except (ValueError, UnicodeDecodeError) as e:
            self._fail(start, f"corrupt header: {e}")
        self.provenance.append(prov)
        return schema

    def next_payload(self):
        """The next frame's payload bytes (undecoded), or None at the end of the stream."""
        while True:
            start = self.offset
            pre = self._read(4)
            if not pre:
                return None
            if len(pre) < 4:
                self._fail(start, "truncated frame length (stream cut short)")
            if pre == MAGIC[:4]:
                schema = self._header_rest()
                if schema != self.schema:
                    self._fail(start, "concatenated stream has a different schema")
                continue
            (length,) = struct.unpack("<I", pre)
            if length > MAX_FRAME:
                self._fail(start, f"frame length {length} exceeds the {MAX_FRAME} byte limit (corrupt stream)")
            payload = self._read(length)
            if len(payload) < length:
                self._fail(start, f"truncated frame: {len(payload)} of {length} bytes (stream cut short)")
            self._frame_start = start
            return payload

    def __iter__(self):
        return self

    def __next__(self):
        payload = self.next_payload()
        if payload is None:
            if self._own:
                self._f.close()
            raise StopIteration
        try:
            g = decode_frame(payload, self.schema)
        except ValueError as e:
            self._fail(self._frame_start, f"invalid graph: {e}")
        self.graphs += 1
        return g


def decode_frame(payload, schema):
    """Decodes one frame payload into a dict of numpy arrays, validating every length and index."""
    c = _Cursor(payload)
    fnum, dataset_id, binclass = c.zigzag(), c.zigzag(), c.zigzag()
    n, e = c.varint(), c.varint()
    flags, iw, yw, cw = c.u8(), c.u8(), c.u8(), c.u8()
    x, y, coords, src, dst, ea, ew = (c.blob() for _ in range(7))
    if c.pos != len(payload):
        raise ValueError(f"{len(payload) - c.pos} trailing bytes after the graph")
    if n > MAX_NODES:
        raise ValueError(f"num_nodes {n} exceeds the {MAX_NODES} node limit")
    if flags & ~(FLAG_PAIRED | FLAG_Y | FLAG_WEIGHT):
        raise ValueError(f"unknown flags {flags:#04x}")
    if iw not in _UNSIGNED or cw not in _SIGNED:
        raise ValueError(f"bad integer widths: index {iw} coords {cw}")
    has_y, has_w, paired = bool(flags & FLAG_Y), bool(flags & FLAG_WEIGHT), bool(flags & FLAG_PAIRED)
    if (has_y and yw not in _SIGNED) or (not has_y and yw != 0):
        raise ValueError(f"bad y width {yw}")
    if paired and e % 2:
        raise ValueError(f"paired edges but odd edge count {e}")
    stored = e // 2 if paired else e
    nf, ne, nc = len(schema["node_features"]), len(schema["edge_features"]), len(schema["coord_names"])
    for name, blob, want in (
        ("x", x, n * nf * 4), ("y", y, n * yw if has_y else 0), ("coords", coords, n * nc * cw),
        ("edge sources", src, stored * iw), ("edge targets", dst, stored * iw),
        ("edge_attr", ea, stored * ne * 4), ("edge_weight", ew, stored * 4 if has_w else 0),
    ):
        if len(blob) != want:
            raise ValueError(f"{name} holds {len(blob)} bytes, expected {want}")
    if schema["has_node_labels"] and not has_y:
        raise ValueError("the schema promises node labels but the graph has none")
    s = np.frombuffer(src, _UNSIGNED[iw]).astype(np.int64)
    d = np.frombuffer(dst, _UNSIGNED[iw]).astype(np.int64)
    bad = np.nonzero((s >= n) | (d >= n))[0]
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"edge {k} = ({s[k]}, {d[k]}) points past num_nodes {n}")
    attr = np.frombuffer(ea, "<f4").reshape(stored, ne)
    weight = np.frombuffer(ew, "<f4") if has_w else None
    if paired:
        # Stored once per pair: expand to (a,b),(b,a) with identical features, as written.
        s, d = np.stack([s, d], 1).reshape(-1), np.stack([d, s], 1).reshape(-1)
        attr = np.repeat(attr, 2, axis=0)
        weight = np.repeat(weight, 2) if has_w else None
    return {
        "x": np.frombuffer(x, "<f4").reshape(n, nf).astype(np.float32),
        "edge_index": np.stack([s, d]).astype(np.int64).reshape(2, -1),
        "edge_attr": attr.astype(np.float32),
        "edge_weight": None if weight is None else weight.astype(np.float32),
        "y": np.frombuffer(y, _SIGNED[yw]).astype(np.int64) if has_y else None,
        "coords": np.frombuffer(coords, _SIGNED[cw]).astype(np.int64).reshape(n, nc),
        "binclass": binclass,
        "dataset_id": dataset_id,
        "fnum": fnum,
        "num_nodes": n,
    }


def read_stream(*sources):
    """Yields every graph of one or more streams (paths, '-', or binary file objects), in order."""
    for src in sources:
        yield from StreamReader(src)


def to_pyg(g):
    """Builds a torch_geometric Data like the reference's (y as [N, 1]); needs torch_geometric."""
    import torch
    from torch_geometric.data import Data

    kw = dict(
        x=torch.from_numpy(g["x"]),
        edge_index=torch.from_numpy(g["edge_index"]),
        edge_attr=torch.from_numpy(g["edge_attr"]),
        coords=torch.from_numpy(g["coords"]),
        binclass=g["binclass"],
        dataset_id=g["dataset_id"],
        fnum=g["fnum"],
        num_nodes=g["num_nodes"],
    )
    if g["edge_weight"] is not None:
        kw["edge_weight"] = torch.from_numpy(g["edge_weight"])
    if g["y"] is not None:
        kw["y"] = torch.from_numpy(g["y"]).reshape(-1, 1)
    return Data(**kw)


if __name__ == "__main__":
    import sys

    count = 0
    for graph in read_stream(*(sys.argv[1:] or ["-"])):
        count += 1
    print(f"{count} graphs")
