"""A few protobuf frames for tests, encoded by hand ON PURPOSE.

Tests must send frames that no protobuf library would produce (invalid
UTF-8 in a string, unknown enum numbers, wrong schema versions), so they
write the wire format themselves. Field numbers follow proto/hotline.proto.
The product never does this: it uses protobuf-c.
"""


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return varint((num << 3) | 2) + varint(len(data)) + data


def envelope(body_field, body, schema=1):
    return field_varint(1, schema) + field_bytes(2, "test") + field_bytes(body_field, body)


def report(phone="0912345678", type=4, location="Chợ", description="Ồn ào", channel=1, scope=1,
           anonymous=False):
    reporter = field_bytes(2, phone) if phone else b""
    if anonymous:
        reporter += field_varint(5, 1)
    out = field_varint(2, channel) + field_bytes(3, reporter) + field_bytes(7, location)
    out += field_varint(11, type) + field_varint(13, scope) + field_bytes(15, description)
    return out


def envelope_submit(request_id="r", actor="officer:test", schema=1, **fields):
    command = field_bytes(1, "submit") + field_bytes(4, report(**fields))
    request = field_bytes(1, request_id) + field_bytes(2, actor) + field_bytes(3, command)
    return envelope(10, request, schema=schema)


def envelope_ping(request_id="p"):
    return envelope(10, field_bytes(1, request_id) + field_varint(5, 1))


def parse(data):
    """Decode a message into {field: [values]} (varints as int, others bytes)."""
    fields, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 2:
            length, i = _read_varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("bad wire type")
        fields.setdefault(num, []).append(value)
    return fields


def _read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def decode_reply(frame):
    """(code, error, [(field, message)]) of an Envelope carrying a Reply."""
    env = parse(frame)
    reply = parse(env[11][0])
    code = reply.get(2, [0])[0]
    error = reply.get(3, [b""])[0].decode("utf-8")
    fields = []
    for fe in reply.get(4, []):
        f = parse(fe)
        fields.append((f.get(1, [b""])[0].decode(), f.get(2, [b""])[0].decode()))
    return code, error, fields
