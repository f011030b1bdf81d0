/* telemetry_core._speedups: the per-event hot path, in C.
 *
 * Optional. Without it (no compiler, or TELEMETRY_CORE_PURE_PYTHON=1) the package runs
 * its Python code, which is the reference for everything here:
 *
 *   Clock    mirrors _envelope.Clock: one time reading per event gives the RFC 3339
 *            timestamp and the UUIDv7-style event id; the parts that change once a
 *            millisecond are formatted once a millisecond.
 *   SinkEventBase  mirrors sinks._event._SinkEventFields: a SinkEvent's fields (its
 *            behaviour stays in Python, in the subclass).
 *   spool_line  mirrors sinks._spool.encode, byte for byte, for the common case.
 *   SinkQueue  mirrors sinks._queue.SinkQueue: a sink's queue, its bounds and the common
 *            case of SinkHandler.submit (offer), which record() calls directly.
 *   record   mirrors EventLog.record_event for the common case: a cached route, a dict
 *            that validates, no modifiers. For anything else it returns NotImplemented
 *            before any effect a caller could see, and the Python code does the work
 *            (and raises the errors, with their messages).
 *
 * Why C: in CPython 3.11 the interpreter's own cost of the ~40 steps per event was
 * about 60% of the recording thread's time. The tests run both paths.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <structmember.h>

/* --------------------------------------------------------------------- Clock --- */

typedef struct {
    PyObject_HEAD
    uint64_t next;       /* the next id's counter (48 bits) */
    char node[11];       /* "7xxx-yyyy-": version, node bits, variant */
    int64_t stamp_ms;    /* the millisecond `stamp` holds; -1 for none yet */
    char stamp[24];      /* "YYYY-MM-DDTHH:MM:SS.mmm" */
    int64_t id_ms;       /* the newest millisecond seen: ids never go back in time */
    char id_prefix[25];  /* "tttttttt-tttt-7xxx-yyyy-" */
} ClockObject;

static const char HEX[] = "0123456789abcdef";

static void put_hex(char *out, uint64_t value, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = HEX[value & 0xF];
        value >>= 4;
    }
}

static void put_dec3(char *out, int value)
{
    out[0] = (char)('0' + value / 100);
    out[1] = (char)('0' + value / 10 % 10);
    out[2] = (char)('0' + value % 10);
}

static int floor_divmod(int64_t value, int64_t by, int64_t *quotient)
{
    int64_t q = value / by, r = value % by;
    if (r < 0) {
        q -= 1;
        r += by;
    }
    *quotient = q;
    return (int)r;
}

static int Clock_seed(ClockObject *self, PyObject *args)
{
    unsigned long long node, start;
    if (!PyArg_ParseTuple(args, "KK", &node, &start))
        return -1;
    char buf[16];
    buf[0] = '7';
    put_hex(buf + 1, (node >> 14) & 0xFFF, 3);
    buf[4] = '-';
    put_hex(buf + 5, 0x8000 | (node & 0x3FFF), 4);
    buf[9] = '-';
    memcpy(self->node, buf, 10);
    self->node[10] = '\0';
    self->next = start;
    self->stamp_ms = -1;
    self->id_ms = -1;
    return 0;
}

static int Clock_init(ClockObject *self, PyObject *args, PyObject *kwds)
{
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Clock(node, start) takes no keywords");
        return -1;
    }
    return Clock_seed(self, args);
}

static PyObject *Clock_reseed(ClockObject *self, PyObject *args)
{
    if (Clock_seed(self, args) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *ascii_string(const char *data, Py_ssize_t size)
{
    PyObject *s = PyUnicode_New(size, 127);
    if (s != NULL)
        memcpy(PyUnicode_1BYTE_DATA(s), data, (size_t)size);
    return s;
}

/* The timestamp and id for the wall-clock reading `ns` (time.time_ns()). */
static int Clock_at(ClockObject *self, int64_t ns, PyObject **stamp, PyObject **event_id)
{
    int64_t us, ms, seconds;
    floor_divmod(ns, 1000, &us);
    int micros = floor_divmod(us, 1000, &ms);
    uint64_t n = self->next++;
    if (ms != self->stamp_ms) {
        int millis = floor_divmod(ms, 1000, &seconds);
        time_t t = (time_t)seconds;
        struct tm parts;
        if (gmtime_r(&t, &parts) == NULL
                || strftime(self->stamp, 21, "%Y-%m-%dT%H:%M:%S.", &parts) != 20) {
            self->stamp_ms = -1;
            PyErr_SetString(PyExc_OverflowError, "the wall clock is out of range");
            return -1;
        }
        put_dec3(self->stamp + 20, millis);
        self->stamp_ms = ms;
        if (ms > self->id_ms) {  /* when the clock steps back, ids keep the newest */
            self->id_ms = ms;
            put_hex(self->id_prefix, (uint64_t)ms >> 16, 8);
            self->id_prefix[8] = '-';
            put_hex(self->id_prefix + 9, (uint64_t)ms & 0xFFFF, 4);
            self->id_prefix[13] = '-';
            memcpy(self->id_prefix + 14, self->node, 10);
        }
    }
    char buf[36];
    memcpy(buf, self->stamp, 23);
    put_dec3(buf + 23, micros);
    buf[26] = 'Z';
    *stamp = ascii_string(buf, 27);
    if (*stamp == NULL)
        return -1;
    memcpy(buf, self->id_prefix, 24);
    put_hex(buf + 24, n, 12);
    *event_id = ascii_string(buf, 36);
    if (*event_id == NULL) {
        Py_CLEAR(*stamp);
        return -1;
    }
    return 0;
}

static int Clock_read(ClockObject *self, PyObject **stamp, PyObject **event_id)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return Clock_at(self, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, stamp, event_id);
}

static PyObject *pair(PyObject *stamp, PyObject *event_id)
{
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(stamp);
        Py_DECREF(event_id);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, stamp);
    PyTuple_SET_ITEM(result, 1, event_id);
    return result;
}

static PyObject *Clock_now(ClockObject *self, PyObject *unused)
{
    PyObject *stamp, *event_id;
    if (Clock_read(self, &stamp, &event_id) < 0)
        return NULL;
    return pair(stamp, event_id);
}

static PyObject *Clock_now_at(ClockObject *self, PyObject *arg)
{
    long long ns = PyLong_AsLongLong(arg);
    if (ns == -1 && PyErr_Occurred())
        return NULL;
    PyObject *stamp, *event_id;
    if (Clock_at(self, ns, &stamp, &event_id) < 0)
        return NULL;
    return pair(stamp, event_id);
}

static PyObject *Clock_event_id(ClockObject *self, PyObject *unused)
{
    PyObject *stamp, *event_id;
    if (Clock_read(self, &stamp, &event_id) < 0)
        return NULL;
    Py_DECREF(stamp);
    return event_id;
}

static PyMethodDef Clock_methods[] = {
    {"now", (PyCFunction)Clock_now, METH_NOARGS,
     "(timestamp, event_id) for an event recorded now."},
    {"now_at", (PyCFunction)Clock_now_at, METH_O,
     "now(), for a given time.time_ns() reading."},
    {"event_id", (PyCFunction)Clock_event_id, METH_NOARGS,
     "A fresh event id (for events whose timestamp is overridden)."},
    {"reseed", (PyCFunction)Clock_reseed, METH_VARARGS,
     "reseed(node, start): new node bits and counter start (after a fork)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ClockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "telemetry_core._speedups.Clock",
    .tp_doc = "Clock(node, start): timestamps and UUIDv7-style event ids; "
              "the C twin of telemetry_core._envelope.Clock.",
    .tp_basicsize = sizeof(ClockObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Clock_init,
    .tp_methods = Clock_methods,
};

/* ------------------------------------------------------------ SinkEventBase --- */

/* The fields of telemetry_core.sinks.SinkEvent (which subclasses this and adds the
 * behaviour), mirroring sinks._event._SinkEventFields.
 *
 * Not tracked by the cycle collector, unlike a Python class with __slots__: it holds
 * strings, bytes and parsed JSON, which cannot refer back to it. A sink that falls
 * behind queues thousands of these, and with tracking the collector's young-generation
 * passes over them cost ~0.5 us an event here. */
typedef struct {
    PyObject_HEAD
    PyObject *event_id, *schema_id, *version, *timestamp, *line, *data;
} SinkEventBaseObject;

static PyObject *with_newline(PyObject *json)
{
    if (!PyBytes_CheckExact(json)) {
        static PyObject *newline;
        if (newline == NULL && (newline = PyBytes_FromStringAndSize("\n", 1)) == NULL)
            return NULL;
        return PyNumber_Add(json, newline);  /* what Python's json + b"\n" does */
    }
    Py_ssize_t size = PyBytes_GET_SIZE(json);
    PyObject *line = PyBytes_FromStringAndSize(NULL, size + 1);  /* exactly its size */
    if (line != NULL) {
        memcpy(PyBytes_AS_STRING(line), PyBytes_AS_STRING(json), (size_t)size);
        PyBytes_AS_STRING(line)[size] = '\n';
    }
    return line;
}

static int SinkEventBase_fill(SinkEventBaseObject *self, PyObject *event_id,
                              PyObject *schema_id, PyObject *version, PyObject *timestamp,
                              PyObject *json, PyObject *data)
{
    PyObject *line = with_newline(json);
    if (line == NULL)
        return -1;
    Py_XSETREF(self->line, line);
    Py_INCREF(event_id);
    Py_XSETREF(self->event_id, event_id);
    Py_INCREF(schema_id);
    Py_XSETREF(self->schema_id, schema_id);
    Py_INCREF(version);
    Py_XSETREF(self->version, version);
    Py_INCREF(timestamp);
    Py_XSETREF(self->timestamp, timestamp);
    Py_INCREF(data);
    Py_XSETREF(self->data, data);
    if (PyObject_IS_GC((PyObject *)self))  /* a Python subclass, e.g. SinkEvent */
        PyObject_GC_UnTrack(self);  /* nothing it holds can refer back to it */
    return 0;
}

static int SinkEventBase_init(SinkEventBaseObject *self, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"event_id", "schema_id", "version", "timestamp", "json", "_data",
                            NULL};
    PyObject *event_id, *schema_id, *version, *timestamp, *json, *data = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOO|O", names, &event_id, &schema_id,
                                     &version, &timestamp, &json, &data))
        return -1;
    return SinkEventBase_fill(self, event_id, schema_id, version, timestamp, json, data);
}

static void SinkEventBase_dealloc(SinkEventBaseObject *self)
{
    Py_XDECREF(self->event_id);
    Py_XDECREF(self->schema_id);
    Py_XDECREF(self->version);
    Py_XDECREF(self->timestamp);
    Py_XDECREF(self->line);
    Py_XDECREF(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef SinkEventBase_members[] = {
    {"event_id", T_OBJECT_EX, offsetof(SinkEventBaseObject, event_id), 0, NULL},
    {"schema_id", T_OBJECT_EX, offsetof(SinkEventBaseObject, schema_id), 0, NULL},
    {"version", T_OBJECT_EX, offsetof(SinkEventBaseObject, version), 0, NULL},
    {"timestamp", T_OBJECT_EX, offsetof(SinkEventBaseObject, timestamp), 0, NULL},
    {"line", T_OBJECT_EX, offsetof(SinkEventBaseObject, line), 0, NULL},
    {"_data", T_OBJECT, offsetof(SinkEventBaseObject, data), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SinkEventBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "telemetry_core._speedups.SinkEventBase",
    .tp_doc = "The fields of a SinkEvent (the C twin of sinks._event._SinkEventFields).",
    .tp_basicsize = sizeof(SinkEventBaseObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SinkEventBase_init,
    .tp_dealloc = (destructor)SinkEventBase_dealloc,
    .tp_members = SinkEventBase_members,
};

/* ----------------------------------------------------------------- SinkQueue --- */

/* What offer() says (sinks._queue names them). */
enum { OFFER_TAKEN = 0, OFFER_NOTIFY = 1, OFFER_BEHIND = 2, OFFER_HAND_OVER = 3,
       OFFER_REFUSED = -1 };

typedef struct {
    PyObject_HEAD
    PyObject *items;        /* the deque of SinkEvents, oldest first */
    PyObject *lock;         /* the handler's threading.Lock */
    PyObject *counters;     /* the handler's counters dict */
    PyObject *lock_wanted;  /* the handler's bytearray(1) */
    Py_ssize_t bytes, room, max_bytes, batch_size, spill_bytes, yield_mask;
    Py_ssize_t wake[3];
    char spooling;
} SinkQueueObject;

static PyObject *s_append, *s_acquire, *s_release, *s_line_attr, *k_accepted, *one;
static PyObject *sink_event_type;  /* telemetry_core.sinks.SinkEvent */
static int build_directly;         /* SinkEvent has SinkEventBase's fields and __init__ */

static int SinkQueue_init(SinkQueueObject *self, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"items", "lock", "counters", "lock_wanted", "max_bytes",
                            "batch_size", "spill_bytes", "wake", "yield_mask", NULL};
    PyObject *items, *lock, *counters, *lock_wanted, *wake;
    Py_ssize_t max_bytes, batch_size, spill_bytes, yield_mask;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!O!nnnO!n", names, &items, &lock,
                                     &PyDict_Type, &counters, &PyByteArray_Type,
                                     &lock_wanted, &max_bytes, &batch_size, &spill_bytes,
                                     &PyTuple_Type, &wake, &yield_mask))
        return -1;
    if (PyByteArray_GET_SIZE(lock_wanted) < 1 || PyTuple_GET_SIZE(wake) != 3) {
        PyErr_SetString(PyExc_ValueError, "lock_wanted: 1 byte; wake: 3 depths");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        self->wake[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(wake, i));
        if (self->wake[i] == -1 && PyErr_Occurred())
            return -1;
    }
    Py_INCREF(items);
    Py_XSETREF(self->items, items);
    Py_INCREF(lock);
    Py_XSETREF(self->lock, lock);
    Py_INCREF(counters);
    Py_XSETREF(self->counters, counters);
    Py_INCREF(lock_wanted);
    Py_XSETREF(self->lock_wanted, lock_wanted);
    self->bytes = 0;
    self->room = 0;
    self->max_bytes = max_bytes;
    self->batch_size = batch_size;
    self->spill_bytes = spill_bytes;
    self->yield_mask = yield_mask;
    self->spooling = 0;
    return 0;
}

static void SinkQueue_dealloc(SinkQueueObject *self)
{
    Py_XDECREF(self->items);
    Py_XDECREF(self->lock);
    Py_XDECREF(self->counters);
    Py_XDECREF(self->lock_wanted);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The common case of SinkHandler.submit: with the handler's lock, append `event` if
 * the queue has room (events and bytes) and count it accepted. Returns what the caller
 * does next (OFFER_*), or -2 with an exception set. */
static int offer(SinkQueueObject *self, PyObject *event)
{
    PyObject *line = NULL;
    if (build_directly && (PyObject *)Py_TYPE(event) == sink_event_type)
        line = Py_XNewRef(((SinkEventBaseObject *)event)->line);
    if (line == NULL && (line = PyObject_GetAttr(event, s_line_attr)) == NULL)
        return -2;
    Py_ssize_t size = PyObject_Size(line);
    Py_DECREF(line);
    if (size < 0)
        return -2;
    PyObject *held = PyObject_CallMethodNoArgs(self->lock, s_acquire);
    if (held == NULL)
        return -2;
    Py_DECREF(held);
    int code = OFFER_REFUSED;
    Py_ssize_t depth = PyObject_Size(self->items);
    Py_ssize_t queued = self->bytes + size;
    if (depth >= 0 && depth < self->room && queued <= self->max_bytes) {
        PyObject *done = PyObject_CallMethodOneArg(self->items, s_append, event);
        PyObject *count = done ? PyDict_GetItemWithError(self->counters, k_accepted) : NULL;
        PyObject *more = count ? PyNumber_Add(count, one) : NULL;
        Py_XDECREF(done);
        if (more == NULL || PyDict_SetItem(self->counters, k_accepted, more) < 0) {
            Py_XDECREF(more);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_KeyError, "accepted");
            code = -2;
        } else {
            Py_DECREF(more);
            self->bytes = queued;
            depth++;
            if (depth == self->wake[0] || depth == self->wake[1] || depth == self->wake[2]
                    || (queued >= self->spill_bytes && self->spill_bytes > queued - size))
                code = OFFER_NOTIFY;
            else if (PyByteArray_AS_STRING(self->lock_wanted)[0])
                code = OFFER_HAND_OVER;
            else if ((depth & self->yield_mask) || depth < self->batch_size || self->spooling)
                code = OFFER_TAKEN;
            else
                code = OFFER_BEHIND;
        }
    } else if (depth < 0) {
        code = -2;
    }
    PyObject *error_type, *error_value, *error_tb;
    PyErr_Fetch(&error_type, &error_value, &error_tb);  /* release even after an error */
    PyObject *released = PyObject_CallMethodNoArgs(self->lock, s_release);
    if (released == NULL) {
        Py_XDECREF(error_type);
        Py_XDECREF(error_value);
        Py_XDECREF(error_tb);
        return -2;
    }
    Py_DECREF(released);
    PyErr_Restore(error_type, error_value, error_tb);
    return code;
}

static PyObject *SinkQueue_offer(SinkQueueObject *self, PyObject *event)
{
    int code = offer(self, event);
    return code == -2 ? NULL : PyLong_FromLong(code);
}

static Py_ssize_t SinkQueue_len(SinkQueueObject *self)
{
    return PyObject_Size(self->items);
}

static PyMethodDef SinkQueue_methods[] = {
    {"offer", (PyCFunction)SinkQueue_offer, METH_O,
     "offer(event) -> int: submit's common case; what to do next (sinks._queue.OFFER_*)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef SinkQueue_members[] = {
    {"items", T_OBJECT_EX, offsetof(SinkQueueObject, items), 0, NULL},
    {"lock", T_OBJECT_EX, offsetof(SinkQueueObject, lock), READONLY, NULL},
    {"counters", T_OBJECT_EX, offsetof(SinkQueueObject, counters), READONLY, NULL},
    {"lock_wanted", T_OBJECT_EX, offsetof(SinkQueueObject, lock_wanted), READONLY, NULL},
    {"bytes", T_PYSSIZET, offsetof(SinkQueueObject, bytes), 0, NULL},
    {"room", T_PYSSIZET, offsetof(SinkQueueObject, room), 0, NULL},
    {"yield_mask", T_PYSSIZET, offsetof(SinkQueueObject, yield_mask), 0, NULL},
    {"spooling", T_BOOL, offsetof(SinkQueueObject, spooling), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PySequenceMethods SinkQueue_as_sequence = {.sq_length = (lenfunc)SinkQueue_len};

static PyTypeObject SinkQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "telemetry_core._speedups.SinkQueue",
    .tp_doc = "A sink's queue and bounds (the C twin of sinks._queue.SinkQueue).",
    .tp_basicsize = sizeof(SinkQueueObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SinkQueue_init,
    .tp_dealloc = (destructor)SinkQueue_dealloc,
    .tp_methods = SinkQueue_methods,
    .tp_members = SinkQueue_members,
    .tp_as_sequence = &SinkQueue_as_sequence,
};

/* ---------------------------------------------------------------- spool_line --- */

/* Append `text` as a JSON string, escaped as orjson escapes it. -1 when it is not
 * valid UTF-8 (a lone surrogate): the caller then leaves it to the Python code. */
static Py_ssize_t put_json_string(char *out, const char *text, Py_ssize_t size)
{
    char *start = out;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c < 0x20) {
            *out++ = '\\';
            switch (c) {
            case '\b': *out++ = 'b'; break;
            case '\t': *out++ = 't'; break;
            case '\n': *out++ = 'n'; break;
            case '\f': *out++ = 'f'; break;
            case '\r': *out++ = 'r'; break;
            default:
                memcpy(out, "u00", 3);
                out[3] = HEX[c >> 4];
                out[4] = HEX[c & 0xF];
                out += 5;
            }
        } else {
            *out++ = (char)c;
        }
    }
    *out++ = '"';
    return out - start;
}

/* spool_line(event): sinks._spool.encode for a SinkEvent whose fields are strings and
 * whose line is one line of JSON; None for anything else (the Python code does it). */
static PyObject *spool_line(PyObject *module, PyObject *event)
{
    if (!PyObject_TypeCheck(event, &SinkEventBaseType))
        Py_RETURN_NONE;
    SinkEventBaseObject *e = (SinkEventBaseObject *)event;
    PyObject *fields[4] = {e->event_id, e->schema_id, e->version, e->timestamp};
    const char *text[4];
    Py_ssize_t sizes[4], room = 0;
    for (int i = 0; i < 4; i++) {
        if (fields[i] == NULL || !PyUnicode_CheckExact(fields[i]))
            Py_RETURN_NONE;
        text[i] = PyUnicode_AsUTF8AndSize(fields[i], &sizes[i]);
        if (text[i] == NULL) {  /* a lone surrogate: orjson's error, from Python */
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        room += sizes[i] * 6 + 3;  /* "\u00XX" at worst, quotes and a separator */
    }
    PyObject *line = e->line;
    if (line == NULL || !PyBytes_CheckExact(line))
        Py_RETURN_NONE;
    Py_ssize_t line_size = PyBytes_GET_SIZE(line);
    const char *raw = PyBytes_AS_STRING(line);
    const char *newline = memchr(raw, '\n', (size_t)line_size);
    if (newline == NULL || newline != raw + line_size - 1)
        Py_RETURN_NONE;  /* pretty-printed JSON: Python re-serialises it */
    char *buffer = PyMem_Malloc((size_t)(room + 3 + line_size));
    if (buffer == NULL)
        return PyErr_NoMemory();
    char *out = buffer;
    *out++ = '[';
    for (int i = 0; i < 4; i++) {
        if (i)
            *out++ = ',';
        out += put_json_string(out, text[i], sizes[i]);
    }
    *out++ = ']';
    *out++ = '\t';
    memcpy(out, raw, (size_t)line_size);
    out += line_size;
    PyObject *result = PyBytes_FromStringAndSize(buffer, out - buffer);
    PyMem_Free(buffer);
    return result;
}

/* -------------------------------------------------------------------- record --- */

/* Set once by configure(); the module holds references for the process's life. */
static ClockObject *the_clock;
static PyObject *dumps;            /* orjson.dumps */
static PyObject *base_submit;      /* SinkHandler.submit: sinks that keep it get offer() */

static PyObject *s_routes, *s_modifiers, *s_hookimpls, *s_dispatch, *s_is_valid,
    *s_envelope, *s_redactor, *s_version, *s_top_nulls, *s_redact_owned, *s_active,
    *s_only_sinks, *s_sinks, *s_filters, *s_level, *s_submit, *s_deliver, *k_timestamp,
    *k_event_id, *s_q, *s_after_offer;

static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"clock", "sink_event", "dumps", "submit", NULL};
    PyObject *clock, *event_type, *dumps_fn, *submit = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OO|O", names, &ClockType, &clock,
                                     &event_type, &dumps_fn, &submit))
        return NULL;
    Py_INCREF(submit);
    Py_XSETREF(base_submit, submit);
    Py_INCREF(clock);
    Py_XSETREF(the_clock, (ClockObject *)clock);
    Py_INCREF(event_type);
    Py_XSETREF(sink_event_type, event_type);
    Py_INCREF(dumps_fn);
    Py_XSETREF(dumps, dumps_fn);
    PyTypeObject *type = (PyTypeObject *)event_type;
    build_directly = PyType_Check(event_type) && PyType_IsSubtype(type, &SinkEventBaseType)
        && type->tp_basicsize == SinkEventBaseType.tp_basicsize
        && type->tp_init == SinkEventBaseType.tp_init;
    Py_RETURN_NONE;
}

/* SinkEvent(event_id, schema_id, version, timestamp, raw), without the call when its
 * fields are SinkEventBase's (they are, unless _native turned this module off). */
static PyObject *new_sink_event(PyObject *event_id, PyObject *schema_id, PyObject *version,
                                PyObject *stamp, PyObject *raw)
{
    PyTypeObject *type = (PyTypeObject *)sink_event_type;
    if (!build_directly) {
        PyObject *fields[] = {NULL, event_id, schema_id, version, stamp, raw};
        return PyObject_Vectorcall(sink_event_type, fields + 1,
                                   5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    PyObject *event = type->tp_alloc(type, 0);
    if (event != NULL && SinkEventBase_fill((SinkEventBaseObject *)event, event_id,
                                            schema_id, version, stamp, raw, Py_None) < 0)
        Py_CLEAR(event);
    return event;
}

/* 1 when `obj.name` is truthy, 0 when not, -1 on error. */
static int attr_true(PyObject *obj, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL)
        return -1;
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* 1 when every sink takes events through submit() (no filters, level at most INFO). */
static int sinks_take_submit(PyObject *sinks)
{
    Py_ssize_t count = PyTuple_GET_SIZE(sinks);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *sink = PyTuple_GET_ITEM(sinks, i);
        int filtered = attr_true(sink, s_filters);
        if (filtered != 0)
            return filtered < 0 ? -1 : 0;
        PyObject *level = PyObject_GetAttr(sink, s_level);
        if (level == NULL)
            return -1;
        long value = PyLong_AsLong(level);
        Py_DECREF(level);
        if (value == -1 && PyErr_Occurred())
            return -1;
        if (value > 20)  /* logging.INFO */
            return 0;
    }
    return 1;
}

/* sink.submit(event): for a sink that keeps SinkHandler.submit, its common case here
 * (SinkQueue offer), and the rest (waking threads, yielding) in sink._after_offer. */
static int submit_directly(PyObject *sink, PyObject *event)
{
    PyObject *q = NULL;
    if (base_submit != Py_None && _PyType_Lookup(Py_TYPE(sink), s_submit) == base_submit) {
        q = PyObject_GetAttr(sink, s_q);
        if (q == NULL)
            PyErr_Clear();
        else if (!Py_IS_TYPE(q, &SinkQueueType))
            Py_CLEAR(q);
    }
    if (q == NULL) {
        PyObject *call[] = {sink, event};
        PyObject *result = PyObject_VectorcallMethod(
            s_submit, call, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_XDECREF(result);
        return result == NULL ? -1 : 0;
    }
    int code = offer((SinkQueueObject *)q, event);
    Py_DECREF(q);
    if (code == OFFER_TAKEN)
        return 0;
    if (code == -2) {  /* submit itself says what went wrong, without raising */
        PyErr_Clear();
        PyObject *call[] = {sink, event};
        PyObject *result = PyObject_VectorcallMethod(
            s_submit, call, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_XDECREF(result);
        return result == NULL ? -1 : 0;
    }
    PyObject *number = PyLong_FromLong(code);
    if (number == NULL)
        return -1;
    PyObject *call[] = {sink, number, event};
    PyObject *result = PyObject_VectorcallMethod(
        s_after_offer, call, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(number);
    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

/* Hand `recorded` to the handlers, as _dispatch.Dispatcher.deliver does. */
static int deliver(PyObject *dispatch, PyObject *recorded, PyObject *schema_id,
                   PyObject *version, PyObject *stamp, PyObject *event_id)
{
    int only_sinks = attr_true(dispatch, s_only_sinks);
    if (only_sinks < 0)
        return -1;
    PyObject *sinks = NULL, *raw = NULL, *event = NULL;
    int fast = 0, status = -1;
    if (only_sinks) {
        sinks = PyObject_GetAttr(dispatch, s_sinks);
        if (sinks == NULL)
            return -1;
        if (!PyTuple_CheckExact(sinks)) {
            PyErr_SetString(PyExc_TypeError, "Dispatcher.sinks must be a tuple");
            goto done;
        }
        fast = sinks_take_submit(sinks);
        if (fast < 0)
            goto done;
    }
    if (fast) {
        raw = PyObject_CallOneArg(dumps, recorded);
        if (raw == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError))
                goto done;
            PyErr_Clear();  /* what orjson refuses: Python's deliver serialises it */
            fast = 0;
        }
    }
    if (!fast) {
        PyObject *call[] = {dispatch, recorded, schema_id, version, stamp, event_id};
        PyObject *result = PyObject_VectorcallMethod(
            s_deliver, call, 6 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_XDECREF(result);
        status = result == NULL ? -1 : 0;
        goto done;
    }
    event = new_sink_event(event_id, schema_id, version, stamp, raw);
    if (event == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(sinks); i++) {
        PyObject *sink = PyTuple_GET_ITEM(sinks, i);
        if (submit_directly(sink, event) < 0)
            goto done;
    }
    status = 0;
done:
    Py_XDECREF(sinks);
    Py_XDECREF(raw);
    Py_XDECREF(event);
    return status;
}

/* Null the top-level properties named in `names` (Redactor.top_nulls), or call the
 * redactor's own redact_owned for any other plan. */
static int redact(PyObject *redactor, PyObject *recorded)
{
    PyObject *names = PyObject_GetAttr(redactor, s_top_nulls);
    if (names == NULL)
        return -1;
    int status = 0;
    if (PyTuple_CheckExact(names)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names) && status == 0; i++) {
            PyObject *name = PyTuple_GET_ITEM(names, i);
            int present = PyDict_Contains(recorded, name);
            if (present < 0 || (present && PyDict_SetItem(recorded, name, Py_None) < 0))
                status = -1;
        }
    } else {
        PyObject *result = PyObject_CallMethodOneArg(redactor, s_redact_owned, recorded);
        Py_XDECREF(result);
        status = result == NULL ? -1 : 0;
    }
    Py_DECREF(names);
    return status;
}

/* 1 when the event log has modifiers or modifier plugins (then Python records). */
static int has_modifiers(PyObject *eventlog)
{
    int modifiers = attr_true(eventlog, s_modifiers);
    if (modifiers != 0)
        return modifiers;
    return attr_true(eventlog, s_hookimpls);
}

/* record(eventlog, schema_id, version, event): the recorded dict, None when the schema
 * is not allowed, or NotImplemented when Python must do it (see the top). */
static PyObject *record(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "record(eventlog, schema_id, version, event)");
        return NULL;
    }
    if (the_clock == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "telemetry_core._speedups is not configured");
        return NULL;
    }
    PyObject *eventlog = args[0], *schema_id = args[1], *version = args[2];
    PyObject *event = args[3];
    if (!PyDict_CheckExact(event))
        Py_RETURN_NOTIMPLEMENTED;
    int modified = has_modifiers(eventlog);
    if (modified != 0)
        return modified < 0 ? NULL : Py_NewRef(Py_NotImplemented);

    PyObject *routes = NULL, *key = NULL, *route = NULL, *is_valid = NULL;
    PyObject *recorded = NULL, *stamp = NULL, *event_id = NULL, *redactor = NULL;
    PyObject *dispatch = NULL, *route_version = NULL, *envelope = NULL, *result = NULL;

    routes = PyObject_GetAttr(eventlog, s_routes);
    if (routes == NULL)
        goto done;
    if (!PyDict_CheckExact(routes)) {
        result = Py_NewRef(Py_NotImplemented);
        goto done;
    }
    key = PyTuple_Pack(2, schema_id, version);
    if (key == NULL)
        goto done;
    route = PyDict_GetItemWithError(routes, key);
    if (route == NULL) {
        PyErr_Clear();  /* not cached yet, or an unhashable version: Python's to handle */
        result = Py_NewRef(Py_NotImplemented);
        goto done;
    }
    Py_INCREF(route);
    if (route == Py_None) {  /* not an allowed schema: recorded nowhere */
        result = Py_NewRef(Py_None);
        goto done;
    }

    /* Step 3: valid? An invalid event goes to Python, which raises the full error. */
    is_valid = PyObject_GetAttr(route, s_is_valid);
    if (is_valid == NULL)
        goto done;
    PyObject *verdict = PyObject_CallOneArg(is_valid, event);
    if (verdict == NULL)
        goto done;
    int valid = PyObject_IsTrue(verdict);
    Py_DECREF(verdict);
    if (valid <= 0) {
        if (valid == 0)
            result = Py_NewRef(Py_NotImplemented);
        goto done;
    }

    /* Step 5, before step 4 so that redaction changes our copy, never the caller's. */
    envelope = PyObject_GetAttr(route, s_envelope);
    if (envelope == NULL)
        goto done;
    if (!PyDict_CheckExact(envelope)) {
        result = Py_NewRef(Py_NotImplemented);
        goto done;
    }
    recorded = PyDict_Copy(envelope);
    if (recorded == NULL || PyDict_Update(recorded, event) < 0)
        goto done;
    if (PyDict_GET_SIZE(recorded) != PyDict_GET_SIZE(event) + 5) {
        result = Py_NewRef(Py_NotImplemented);  /* it set an envelope field: an error */
        goto done;
    }
    if (Clock_read(the_clock, &stamp, &event_id) < 0
            || PyDict_SetItem(recorded, k_timestamp, stamp) < 0
            || PyDict_SetItem(recorded, k_event_id, event_id) < 0)
        goto done;

    /* Step 4: private? */
    redactor = PyObject_GetAttr(route, s_redactor);
    if (redactor == NULL || (redactor != Py_None && redact(redactor, recorded) < 0))
        goto done;

    dispatch = PyObject_GetAttr(eventlog, s_dispatch);
    if (dispatch == NULL)
        goto done;
    int active = attr_true(dispatch, s_active);
    if (active < 0)
        goto done;
    if (active) {
        route_version = PyObject_GetAttr(route, s_version);
        if (route_version == NULL
                || deliver(dispatch, recorded, schema_id, route_version, stamp, event_id) < 0)
            goto done;
    }
    result = Py_NewRef(recorded);
done:
    Py_XDECREF(routes);
    Py_XDECREF(key);
    Py_XDECREF(route);
    Py_XDECREF(is_valid);
    Py_XDECREF(envelope);
    Py_XDECREF(recorded);
    Py_XDECREF(stamp);
    Py_XDECREF(event_id);
    Py_XDECREF(redactor);
    Py_XDECREF(dispatch);
    Py_XDECREF(route_version);
    return result;
}

/* -------------------------------------------------------------------- module --- */

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(clock, sink_event, dumps): what record() uses."},
    {"record", (PyCFunction)(void (*)(void))record, METH_FASTCALL,
     "record(eventlog, schema_id, version, event): EventLog.record_event's common case; "
     "NotImplemented where the Python code must do it."},
    {"spool_line", (PyCFunction)spool_line, METH_O,
     "spool_line(event): sinks._spool.encode's bytes, or None where Python must do it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups",
    "The per-event hot path of telemetry_core, in C (optional; see _speedups.c).",
    -1, module_methods,
};

static int intern_names(void)
{
    struct { PyObject **slot; const char *text; } names[] = {
        {&s_routes, "_routes"}, {&s_modifiers, "_modifiers"}, {&s_hookimpls, "_hookimpls"},
        {&s_dispatch, "_dispatch"}, {&s_is_valid, "is_valid"}, {&s_envelope, "envelope"},
        {&s_redactor, "redactor"}, {&s_version, "version"}, {&s_top_nulls, "top_nulls"},
        {&s_redact_owned, "redact_owned"}, {&s_active, "active"},
        {&s_only_sinks, "only_sinks"}, {&s_sinks, "sinks"}, {&s_filters, "filters"},
        {&s_level, "level"}, {&s_submit, "submit"}, {&s_deliver, "deliver"},
        {&k_timestamp, "__timestamp__"}, {&k_event_id, "__event_id__"},
        {&s_q, "_q"}, {&s_after_offer, "_after_offer"}, {&s_append, "append"},
        {&s_acquire, "acquire"}, {&s_release, "release"}, {&s_line_attr, "line"},
        {&k_accepted, "accepted"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL)
            return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__speedups(void)
{
    if (PyType_Ready(&ClockType) < 0 || PyType_Ready(&SinkEventBaseType) < 0
            || PyType_Ready(&SinkQueueType) < 0 || intern_names() < 0
            || (one = PyLong_FromLong(1)) == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Clock", (PyObject *)&ClockType) < 0
            || PyModule_AddObjectRef(module, "SinkEventBase",
                                     (PyObject *)&SinkEventBaseType) < 0
            || PyModule_AddObjectRef(module, "SinkQueue", (PyObject *)&SinkQueueType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
