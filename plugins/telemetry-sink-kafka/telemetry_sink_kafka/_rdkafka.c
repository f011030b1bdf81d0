/* telemetry_sink_kafka._rdkafka: a batch producer on librdkafka's C API.
 *
 * Why: confluent-kafka's produce() holds the interpreter lock for its whole ~2 us per
 * message, so in one process recording events and producing them take turns on one
 * core. This module produces a whole run of a batch with the lock released: the
 * application's threads go on recording on the other core meanwhile.
 *
 * Which librdkafka: the one confluent-kafka ships and has loaded (its path is given to
 * load()), so both clients share one library. The few declarations below are of
 * librdkafka's public, stable C API (rdkafka.h); this file needs no librdkafka headers
 * to build. Python code (_native.py) finds the library, checks its version against
 * confluent_kafka.libversion(), and falls back to confluent-kafka's produce() when any
 * of that fails: this module is optional.
 *
 * Delivery reports are kept in C: an event's position in its batch travels as the
 * message's opaque, and the reports of failed messages are collected as (position,
 * error) for Python to sort after flush(). librdkafka's log lines and error callbacks,
 * which can come from its own threads, are queued (bounded) for Python to take.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------ librdkafka's API, as declared --- */

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_error_s rd_kafka_error_t;

typedef struct {
    int err;
    rd_kafka_topic_t *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *_private; /* the message's opaque */
} rd_kafka_message_t;

enum { VTYPE_RKT = 2, VTYPE_VALUE = 4, VTYPE_KEY = 5, VTYPE_OPAQUE = 6,
       VTYPE_MSGFLAGS = 7, VTYPE_HEADER = 9 };

typedef struct {
    int vtype;
    union {
        rd_kafka_topic_t *rkt;
        int i;
        void *ptr;
        struct { const void *ptr; size_t size; } mem;
        struct { const char *name; const void *val; ssize_t size; } header;
        char _pad[64];
    } u;
} rd_kafka_vu_t;

typedef struct {
    char *topic;
    int partition_cnt;
    void *partitions;
    int err;
} rd_kafka_metadata_topic_t;

typedef struct {
    int broker_cnt;
    void *brokers;
    int topic_cnt;
    rd_kafka_metadata_topic_t *topics;
    int32_t orig_broker_id;
    char *orig_broker_name;
} rd_kafka_metadata_t;

#define MSG_F_COPY 0x2
#define PURGE_F_QUEUE 0x1
#define PURGE_F_INFLIGHT 0x2
#define ERR_NO_ERROR 0
#define ERR_QUEUE_FULL (-184)
#define MAX_HEADERS 8

typedef void (*dr_msg_cb_t)(rd_kafka_t *, const rd_kafka_message_t *, void *);
typedef void (*error_cb_t)(rd_kafka_t *, int, const char *, void *);
typedef void (*log_cb_t)(const rd_kafka_t *, int, const char *, const char *);

static struct {
    const char *(*version_str)(void);
    rd_kafka_conf_t *(*conf_new)(void);
    int (*conf_set)(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
    void (*conf_destroy)(rd_kafka_conf_t *);
    void (*conf_set_opaque)(rd_kafka_conf_t *, void *);
    void (*conf_set_dr_msg_cb)(rd_kafka_conf_t *, dr_msg_cb_t);
    void (*conf_set_error_cb)(rd_kafka_conf_t *, error_cb_t);
    void (*conf_set_log_cb)(rd_kafka_conf_t *, log_cb_t);
    rd_kafka_t *(*new_)(int, rd_kafka_conf_t *, char *, size_t);
    void (*destroy)(rd_kafka_t *);
    void *(*opaque)(const rd_kafka_t *);
    rd_kafka_topic_t *(*topic_new)(rd_kafka_t *, const char *, void *);
    void (*topic_destroy)(rd_kafka_topic_t *);
    rd_kafka_error_t *(*produceva)(rd_kafka_t *, const rd_kafka_vu_t *, size_t);
    int (*error_code)(const rd_kafka_error_t *);
    const char *(*error_string)(const rd_kafka_error_t *);
    void (*error_destroy)(rd_kafka_error_t *);
    int (*flush)(rd_kafka_t *, int);
    int (*poll)(rd_kafka_t *, int);
    int (*outq_len)(rd_kafka_t *);
    int (*purge)(rd_kafka_t *, int);
    int (*fatal_error)(rd_kafka_t *, char *, size_t);
    const char *(*err2str)(int);
    int (*metadata)(rd_kafka_t *, int, rd_kafka_topic_t *, const rd_kafka_metadata_t **, int);
    void (*metadata_destroy)(const rd_kafka_metadata_t *);
} rd;

static void *library = NULL;

static PyObject *load(PyObject *module, PyObject *arg)
{
    const char *path = PyUnicode_AsUTF8(arg);
    if (path == NULL)
        return NULL;
    if (library == NULL) {
        void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL)
            return PyErr_Format(PyExc_ImportError, "cannot load %s: %s", path, dlerror());
        struct { void **slot; const char *name; } symbols[] = {
#define SYMBOL(field, name) {(void **)&rd.field, name}
            SYMBOL(version_str, "rd_kafka_version_str"),
            SYMBOL(conf_new, "rd_kafka_conf_new"),
            SYMBOL(conf_set, "rd_kafka_conf_set"),
            SYMBOL(conf_destroy, "rd_kafka_conf_destroy"),
            SYMBOL(conf_set_opaque, "rd_kafka_conf_set_opaque"),
            SYMBOL(conf_set_dr_msg_cb, "rd_kafka_conf_set_dr_msg_cb"),
            SYMBOL(conf_set_error_cb, "rd_kafka_conf_set_error_cb"),
            SYMBOL(conf_set_log_cb, "rd_kafka_conf_set_log_cb"),
            SYMBOL(new_, "rd_kafka_new"),
            SYMBOL(destroy, "rd_kafka_destroy"),
            SYMBOL(opaque, "rd_kafka_opaque"),
            SYMBOL(topic_new, "rd_kafka_topic_new"),
            SYMBOL(topic_destroy, "rd_kafka_topic_destroy"),
            SYMBOL(produceva, "rd_kafka_produceva"),
            SYMBOL(error_code, "rd_kafka_error_code"),
            SYMBOL(error_string, "rd_kafka_error_string"),
            SYMBOL(error_destroy, "rd_kafka_error_destroy"),
            SYMBOL(flush, "rd_kafka_flush"),
            SYMBOL(poll, "rd_kafka_poll"),
            SYMBOL(outq_len, "rd_kafka_outq_len"),
            SYMBOL(purge, "rd_kafka_purge"),
            SYMBOL(fatal_error, "rd_kafka_fatal_error"),
            SYMBOL(err2str, "rd_kafka_err2str"),
            SYMBOL(metadata, "rd_kafka_metadata"),
            SYMBOL(metadata_destroy, "rd_kafka_metadata_destroy"),
#undef SYMBOL
        };
        for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
            *symbols[i].slot = dlsym(handle, symbols[i].name);
            if (*symbols[i].slot == NULL) {
                memset(&rd, 0, sizeof rd);
                dlclose(handle);
                return PyErr_Format(PyExc_ImportError, "%s has no %s", path,
                                    symbols[i].name);
            }
        }
        library = handle;
    }
    return PyUnicode_FromString(rd.version_str());
}

/* ------------------------------------------------------------------ Producer --- */

#define MAX_LOGS 256     /* log lines kept until Python takes them; older ones dropped */
#define MAX_ERRORS 64    /* error callbacks, likewise */

typedef struct { int level; char facility[32]; char message[480]; } LogLine;
typedef struct { int code; char reason[480]; } ErrorReport;
typedef struct { Py_ssize_t position; int code; } Failure;
typedef struct Pending Pending;

typedef struct {
    PyObject_HEAD
    rd_kafka_t *rk;
    pid_t pid;                 /* the process that created rk */
    uint32_t generation;       /* of the current batch: reports of older ones are ignored */
    Failure *failures;         /* failed messages of the current batch */
    size_t failure_count, failure_cap;
    /* produce()'s per-event array, kept for the next call: freeing an array this size
     * (a batch's worth) makes glibc consolidate its free lists, which cost this thread
     * ~0.2 us an event. */
    Pending *pending;
    size_t pending_cap;
    int pending_busy;          /* produce() from two threads at once: the second allocates */
    Py_buffer lock_wanted;     /* share_lock_flag()'s byte (buf NULL: none), see there */
    pthread_mutex_t lock;      /* guards what librdkafka's threads append below */
    LogLine logs[MAX_LOGS];
    size_t log_count;
    unsigned long logs_dropped;
    ErrorReport errors[MAX_ERRORS];
    size_t error_count;
    unsigned long errors_dropped;
} ProducerObject;

static PyObject *ConfigError;

/* The opaque of a message: the batch's generation in the upper 32 bits, the event's
 * position + 1 below (0 would read as no opaque). */
static void *make_opaque(uint32_t generation, Py_ssize_t position)
{
    return (void *)(uintptr_t)(((uint64_t)generation << 32) | (uint64_t)(position + 1));
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque)
{
    ProducerObject *self = (ProducerObject *)opaque;
    (void)rk;
    if (message->err == ERR_NO_ERROR || self == NULL)
        return;
    uint64_t tag = (uint64_t)(uintptr_t)message->_private;
    if ((uint32_t)(tag >> 32) != self->generation || (tag & 0xFFFFFFFF) == 0)
        return;
    /* Reports are served by flush()/poll() on the thread that calls them: no lock. */
    if (self->failure_count == self->failure_cap) {
        size_t cap = self->failure_cap ? self->failure_cap * 2 : 64;
        Failure *grown = realloc(self->failures, cap * sizeof(Failure));
        if (grown == NULL)
            return; /* that message then counts as delivered-unknown: see flush() */
        self->failures = grown;
        self->failure_cap = cap;
    }
    self->failures[self->failure_count].position = (Py_ssize_t)(tag & 0xFFFFFFFF) - 1;
    self->failures[self->failure_count].code = message->err;
    self->failure_count++;
}

static void on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    ProducerObject *self = (ProducerObject *)opaque;
    (void)rk;
    pthread_mutex_lock(&self->lock);
    if (self->error_count == MAX_ERRORS) {
        self->errors_dropped++;
    } else {
        ErrorReport *report = &self->errors[self->error_count++];
        report->code = code;
        snprintf(report->reason, sizeof report->reason, "%s", reason ? reason : "");
    }
    pthread_mutex_unlock(&self->lock);
}

static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *message)
{
    ProducerObject *self = (ProducerObject *)rd.opaque(rk);
    if (self == NULL)
        return;
    pthread_mutex_lock(&self->lock);
    if (self->log_count == MAX_LOGS) {
        self->logs_dropped++;
    } else {
        LogLine *line = &self->logs[self->log_count++];
        line->level = level;
        snprintf(line->facility, sizeof line->facility, "%s", facility ? facility : "");
        snprintf(line->message, sizeof line->message, "%s", message ? message : "");
    }
    pthread_mutex_unlock(&self->lock);
}

/* Raise ConfigError(name, reason); returns -1. */
static int config_error(const char *name, const char *reason)
{
    PyObject *args = Py_BuildValue("(ss)", name, reason);
    if (args != NULL) {
        PyErr_SetObject(ConfigError, args);
        Py_DECREF(args);
    }
    return -1;
}

static int Producer_init(ProducerObject *self, PyObject *args, PyObject *kwargs)
{
    PyObject *settings;
    static char *names[] = {"settings", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!", names, &PyDict_Type, &settings))
        return -1;
    if (library == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "librdkafka is not loaded: call load(path) first");
        return -1;
    }
    if (self->rk != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Producer is already initialised");
        return -1;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd.conf_new();
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(settings, &pos, &key, &value)) {
        const char *name = PyUnicode_AsUTF8(key);
        const char *text = name ? PyUnicode_AsUTF8(value) : NULL;
        if (text == NULL) {
            rd.conf_destroy(conf);
            if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_TypeError, "settings must map str to str");
            }
            return -1;
        }
        if (rd.conf_set(conf, name, text, errstr, sizeof errstr) != 0) {
            rd.conf_destroy(conf);
            return config_error(name, errstr);
        }
    }
    rd.conf_set_opaque(conf, self);
    rd.conf_set_dr_msg_cb(conf, on_delivery);
    rd.conf_set_error_cb(conf, on_error);
    rd.conf_set_log_cb(conf, on_log);
    rd_kafka_t *rk = rd.new_(0 /* RD_KAFKA_PRODUCER */, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        rd.conf_destroy(conf);
        return config_error("", errstr);
    }
    self->rk = rk;
    self->pid = getpid();
    return 0;
}

static PyObject *Producer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    ProducerObject *self = (ProducerObject *)type->tp_alloc(type, 0);
    if (self != NULL)
        pthread_mutex_init(&self->lock, NULL);
    return (PyObject *)self;
}

static void Producer_dealloc(ProducerObject *self)
{
    /* In a forked child librdkafka's threads do not exist, and destroying would hang:
     * the handle is left as it is there. */
    if (self->rk != NULL && self->pid == getpid()) {
        Py_BEGIN_ALLOW_THREADS
        rd.destroy(self->rk);
        Py_END_ALLOW_THREADS
    }
    if (self->lock_wanted.buf != NULL)
        PyBuffer_Release(&self->lock_wanted);
    free(self->failures);
    PyMem_Free(self->pending);
    pthread_mutex_destroy(&self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_open(ProducerObject *self)
{
    if (self->rk == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Producer is not initialised");
        return 0;
    }
    return 1;
}

static int timeout_ms(double seconds)
{
    if (seconds < 0)
        return -1;
    if (seconds > 86400)
        return 86400 * 1000;
    return (int)(seconds * 1000);
}

/* Wait up to timeout_ms until librdkafka holds no message; returns how many it still
 * holds. Call without the interpreter lock. The sink asks for reports of failures only
 * (delivery.report.only.error): librdkafka's own thread then frees each delivered
 * message, which cost this thread ~0.2 us a message in reports it had no use for.
 * Nothing wakes a poll when a message is delivered, so this polls in 1 ms steps:
 * rd_kafka_flush() takes 10 ms steps, which rounded each batch's wait up. */
static int drain(ProducerObject *self, int timeout_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t deadline = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + timeout_ms;
    rd.flush(self->rk, 0); /* send what lingers now, not after linger.ms */
    int left;
    while ((left = rd.outq_len(self->rk)) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t remaining = deadline - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (timeout_ms >= 0 && remaining <= 0)
            break;
        rd.poll(self->rk, timeout_ms < 0 || remaining > 1 ? 1 : (int)remaining);
    }
    return left;
}

/* One event's key and value, read while the interpreter lock is released. They are
 * borrowed: the events own them, and the caller's list owns the events. */
struct Pending {
    const char *value;  /* the line, without its newline */
    size_t value_len;
    const char *key;    /* the event id; NULL for none */
    Py_ssize_t key_len;
};

static PyObject *s_line, *s_event_id, *s_schema_id, *s_version;

/* An event's four fields are read straight from their slots where its type keeps
 * them in slots (SinkEvent does, in C or in Python): four attribute look-ups per
 * event were half of the time this module holds the interpreter lock. */
enum { F_LINE, F_EVENT_ID, F_SCHEMA_ID, F_VERSION, FIELDS };
static PyTypeObject *slots_type;       /* the type the offsets are of (a new reference) */
static Py_ssize_t slot_offset[FIELDS]; /* 0 where the field is not a plain slot */

static void learn_slots(PyTypeObject *type)
{
    PyObject *names[FIELDS] = {s_line, s_event_id, s_schema_id, s_version};
    for (int f = 0; f < FIELDS; f++) {
        slot_offset[f] = 0;
        PyObject *descr = PyObject_GetAttr((PyObject *)type, names[f]);
        if (descr == NULL) {
            PyErr_Clear();
            continue;
        }
        if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            if ((member->type == T_OBJECT_EX || member->type == T_OBJECT)
                    && !(member->flags & READ_RESTRICTED))
                slot_offset[f] = member->offset;
        }
        Py_DECREF(descr);
    }
    Py_INCREF(type);
    Py_XSETREF(slots_type, type);
}

/* event.<field>, borrowed: straight from its slot, which the event keeps (events are
 * immutable; SinkEvent says so). Anything else (a property, say) is looked up, and
 * the new reference is parked in *keep, a list made on first use, to live as long as
 * the caller needs it. NULL with an exception set on error.
 *
 * Borrowing matters: a batch's events were made ~50 ms ago and are out of the cache,
 * and a reference taken and given back is two writes to each line and id. */
static PyObject *borrow(PyObject *event, int f, PyObject **keep)
{
    static PyObject **names[FIELDS] = {&s_line, &s_event_id, &s_schema_id, &s_version};
    if (Py_TYPE(event) == slots_type && slot_offset[f] != 0) {
        PyObject *value = *(PyObject **)((char *)event + slot_offset[f]);
        if (value != NULL)
            return value;
    }
    PyObject *value = PyObject_GetAttr(event, *names[f]);
    if (value == NULL)
        return NULL;
    if (*keep == NULL && (*keep = PyList_New(0)) == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    int kept = PyList_Append(*keep, value);
    Py_DECREF(value);
    return kept < 0 ? NULL : value;
}

/* The array for `count` events: the producer's own (grown as needed) unless another
 * thread is using it. Hand it back with give_pending(). */
static Pending *take_pending(ProducerObject *self, size_t count)
{
    if (self->pending_busy) {
        Pending *own = PyMem_Malloc(count * sizeof(Pending));
        return own != NULL ? own : (Pending *)PyErr_NoMemory();
    }
    if (count > self->pending_cap) {
        Pending *grown = PyMem_Realloc(self->pending, count * sizeof(Pending));
        if (grown == NULL)
            return (Pending *)PyErr_NoMemory();
        self->pending = grown;
        self->pending_cap = count;
    }
    self->pending_busy = 1;
    return self->pending;
}

static void give_pending(ProducerObject *self, Pending *pending)
{
    if (pending == self->pending)
        self->pending_busy = 0;
    else
        PyMem_Free(pending);
}

/* librdkafka makes and frees a few small blocks per message (its headers), on this
 * thread once it serves the delivery reports. glibc keeps freed small blocks in fast
 * lists, and merges them all before it next serves a block of 1 KiB or more from this
 * thread's heap. Left alone, that is the next big block Python takes here (a batch's
 * list), ~5 ms a 20,000-event batch with the interpreter lock held. Asking for one
 * now, without the lock, does the merge while the application runs. */
static void merge_free_lists(void)
{
    void *volatile block = malloc(4096); /* volatile: the compiler may not drop the pair */
    free(block);
}

PyDoc_STRVAR(Producer_produce_doc,
"produce(events, start, topic, headers, flush_timeout) -> (stop, error_code, reason,\n"
"                                                         unacknowledged)\n\n"
"Produce events[start:] up to the first whose schema_id or version differs from\n"
"events[start]'s (one route: one topic, one set of headers), with the interpreter\n"
"lock released. Key = event_id (none if empty), value = line without its newline,\n"
"headers = the (name, bytes) pairs. Returns where it stopped: error_code 0 when the\n"
"run ended, else librdkafka's error for events[stop], which was not produced (-184:\n"
"the local queue is full; poll, then produce from there).\n\n"
"When the run reached the end of events, it also waits up to flush_timeout seconds\n"
"until librdkafka holds none of the messages, without taking the lock back in\n"
"between (a thread that takes it back waits up to the switch interval, 5 ms, while\n"
"others run Python), and unacknowledged says how many it still holds; else it is -1.\n\n"
"The events' fields are read where they are, not copied or referenced: neither the\n"
"list nor its events may change until it returns (SinkEvents are immutable).");

static PyObject *Producer_produce(ProducerObject *self, PyObject *args)
{
    PyObject *events, *headers;
    Py_ssize_t start;
    const char *topic;
    double flush_timeout;
    if (!PyArg_ParseTuple(args, "O!nsO!d", &PyList_Type, &events, &start, &topic,
                          &PyTuple_Type, &headers, &flush_timeout))
        return NULL;
    if (!check_open(self))
        return NULL;
    Py_ssize_t end = PyList_GET_SIZE(events);
    if (start < 0 || start > end || end >= 0xFFFFFFFFLL)
        return PyErr_Format(PyExc_IndexError, "start %zd out of range for %zd events",
                            start, end);
    Py_ssize_t header_count = PyTuple_GET_SIZE(headers);
    if (header_count > MAX_HEADERS)
        return PyErr_Format(PyExc_ValueError, "at most %d headers", MAX_HEADERS);
    rd_kafka_vu_t base[5 + MAX_HEADERS];
    memset(base, 0, sizeof base);
    size_t n = 0;
    base[n].vtype = VTYPE_RKT;
    size_t rkt_at = n++;
    base[n].vtype = VTYPE_MSGFLAGS;
    base[n++].u.i = MSG_F_COPY;
    for (Py_ssize_t h = 0; h < header_count; h++) {
        const char *name;
        const char *val;
        Py_ssize_t size;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(headers, h), "sy#", &name, &val, &size))
            return NULL;
        base[n].vtype = VTYPE_HEADER;
        base[n].u.header.name = name;
        base[n].u.header.val = val;
        base[n++].u.header.size = size;
    }
    size_t value_at = n++, key_at = n++, opaque_at = n++;
    base[value_at].vtype = VTYPE_VALUE;
    base[key_at].vtype = VTYPE_KEY;
    base[opaque_at].vtype = VTYPE_OPAQUE;
    if (start == end)
        return Py_BuildValue("(nisi)", start, 0, "", -1);

    /* With the lock: take each event's fields, up to the end of the run. */
    Pending *pending = take_pending(self, (size_t)(end - start));
    if (pending == NULL)
        return NULL;
    PyObject *schema_id = NULL, *version = NULL, *keep = NULL;
    Py_ssize_t stop = start, taken = 0;
    PyObject *result = NULL;
    for (; stop < end; stop++) {
        PyObject *event = PyList_GET_ITEM(events, stop);
        if (Py_TYPE(event) != slots_type)
            learn_slots(Py_TYPE(event));
        PyObject *sid = borrow(event, F_SCHEMA_ID, &keep);
        PyObject *ver = sid ? borrow(event, F_VERSION, &keep) : NULL;
        if (ver == NULL)
            goto done;
        if (schema_id == NULL) {
            schema_id = sid;
            version = ver;
        } else if (sid != schema_id || ver != version) {
            /* Recorded events share these strings; replayed ones have their own. */
            int same = PyObject_RichCompareBool(sid, schema_id, Py_EQ);
            if (same > 0)
                same = PyObject_RichCompareBool(ver, version, Py_EQ);
            if (same < 0)
                goto done;
            if (same == 0)
                break;
        }
        Pending *p = &pending[taken];
        PyObject *line = borrow(event, F_LINE, &keep);
        PyObject *event_id = line ? borrow(event, F_EVENT_ID, &keep) : NULL;
        if (event_id == NULL)
            goto done;
        if (!PyBytes_Check(line) || PyBytes_GET_SIZE(line) < 1) {
            PyErr_SetString(PyExc_TypeError, "an event's line must be non-empty bytes");
            goto done;
        }
        p->value = PyBytes_AS_STRING(line);
        p->value_len = (size_t)PyBytes_GET_SIZE(line) - 1;
        if (event_id == Py_None) {
            p->key = NULL;
            p->key_len = 0;
        } else if ((p->key = PyUnicode_AsUTF8AndSize(event_id, &p->key_len)) == NULL) {
            goto done;
        }
        if (p->key_len == 0)
            p->key = NULL;
        taken++;
    }

    /* Without the lock: hand them to librdkafka, which copies each. */
    int code = ERR_NO_ERROR;
    char reason[512] = "";
    Py_ssize_t produced = 0;
    int unacknowledged = -1;
    uint32_t generation = self->generation;
    volatile char *wanted = self->lock_wanted.buf;
    Py_BEGIN_ALLOW_THREADS
    rd_kafka_topic_t *rkt = rd.topic_new(self->rk, topic, NULL);
    if (rkt == NULL) {
        code = -186; /* RD_KAFKA_RESP_ERR__INVALID_ARG */
        snprintf(reason, sizeof reason, "invalid topic %s", topic);
    } else {
        rd_kafka_vu_t *vu = base; /* the per-event entries are filled in below */
        vu[rkt_at].u.rkt = rkt;
        for (; produced < taken; produced++) {
            Pending *p = &pending[produced];
            vu[value_at].u.mem.ptr = p->value;
            vu[value_at].u.mem.size = p->value_len;
            vu[key_at].u.mem.ptr = p->key;
            vu[key_at].u.mem.size = (size_t)p->key_len;
            vu[opaque_at].u.ptr = make_opaque(generation, start + produced);
            rd_kafka_error_t *error = rd.produceva(self->rk, vu, n);
            if (error != NULL) {
                code = rd.error_code(error);
                snprintf(reason, sizeof reason, "%s", rd.error_string(error));
                rd.error_destroy(error);
                break;
            }
        }
        rd.topic_destroy(rkt);
    }
    if (code == ERR_NO_ERROR && stop == end)
        unacknowledged = drain(self, timeout_ms(flush_timeout));
    merge_free_lists();
    if (wanted != NULL)
        *wanted = 1; /* the application's thread, in submit(), yields the lock to us */
    Py_END_ALLOW_THREADS
    if (wanted != NULL)
        *wanted = 0;
    result = Py_BuildValue("(nisi)", code ? start + produced : stop, code, reason,
                           unacknowledged);

done:
    Py_XDECREF(keep);
    give_pending(self, pending);
    return result;
}

PyDoc_STRVAR(Producer_share_lock_flag_doc,
"share_lock_flag(flag: bytearray)\n\n"
"produce() sets flag[0] to 1 when it is done and about to take the interpreter lock\n"
"back, and to 0 once it has: SinkHandler.submit then yields the lock at once, where\n"
"else this thread would wait out the switch interval (5 ms) while the application\n"
"runs Python. The bytearray is held (it cannot be resized) until the next call.");

static PyObject *Producer_share_lock_flag(ProducerObject *self, PyObject *flag)
{
    if (!PyByteArray_CheckExact(flag) || PyByteArray_GET_SIZE(flag) < 1)
        return PyErr_Format(PyExc_TypeError, "share_lock_flag needs a bytearray of 1 byte");
    if (self->lock_wanted.buf != NULL)
        PyBuffer_Release(&self->lock_wanted);
    if (PyObject_GetBuffer(flag, &self->lock_wanted, PyBUF_WRITABLE) < 0) {
        self->lock_wanted.buf = NULL;
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Producer_begin(ProducerObject *self, PyObject *unused)
{
    self->generation++;
    self->failure_count = 0;
    Py_RETURN_NONE;
}

static PyObject *Producer_failures(ProducerObject *self, PyObject *unused)
{
    PyObject *list = PyList_New((Py_ssize_t)self->failure_count);
    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < self->failure_count; i++) {
        PyObject *item = Py_BuildValue("(nis)", self->failures[i].position,
                                       self->failures[i].code,
                                       rd.err2str(self->failures[i].code));
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static PyObject *Producer_flush(ProducerObject *self, PyObject *args)
{
    double seconds;
    if (!PyArg_ParseTuple(args, "d", &seconds) || !check_open(self))
        return NULL;
    int left;
    Py_BEGIN_ALLOW_THREADS
    left = drain(self, timeout_ms(seconds));
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(left);
}

static PyObject *Producer_poll(ProducerObject *self, PyObject *args)
{
    double seconds;
    if (!PyArg_ParseTuple(args, "d", &seconds) || !check_open(self))
        return NULL;
    int served;
    Py_BEGIN_ALLOW_THREADS
    served = rd.poll(self->rk, timeout_ms(seconds));
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(served);
}

static PyObject *Producer_purge(ProducerObject *self, PyObject *unused)
{
    if (!check_open(self))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rd.purge(self->rk, PURGE_F_QUEUE | PURGE_F_INFLIGHT);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *Producer_fatal_error(ProducerObject *self, PyObject *unused)
{
    if (!check_open(self))
        return NULL;
    char reason[512] = "";
    int code = rd.fatal_error(self->rk, reason, sizeof reason);
    if (code == ERR_NO_ERROR)
        Py_RETURN_NONE;
    return Py_BuildValue("(is)", code, reason);
}

static PyObject *Producer_topics(ProducerObject *self, PyObject *args)
{
    double seconds;
    if (!PyArg_ParseTuple(args, "d", &seconds) || !check_open(self))
        return NULL;
    const rd_kafka_metadata_t *metadata = NULL;
    int code;
    Py_BEGIN_ALLOW_THREADS
    code = rd.metadata(self->rk, 1, NULL, &metadata, timeout_ms(seconds));
    Py_END_ALLOW_THREADS
    if (code != ERR_NO_ERROR)
        return Py_BuildValue("(is)", code, rd.err2str(code));
    PyObject *names = PyList_New(0);
    for (int i = 0; names != NULL && i < metadata->topic_cnt; i++) {
        PyObject *name = PyUnicode_FromString(metadata->topics[i].topic);
        if (name == NULL || PyList_Append(names, name) < 0)
            Py_CLEAR(names);
        Py_XDECREF(name);
    }
    rd.metadata_destroy(metadata);
    return names;
}

static PyObject *Producer_take_reports(ProducerObject *self, PyObject *unused)
{
    LogLine *logs = NULL;
    ErrorReport *errors = NULL;
    size_t log_count, error_count;
    unsigned long logs_dropped, errors_dropped;
    pthread_mutex_lock(&self->lock);
    log_count = self->log_count;
    error_count = self->error_count;
    logs_dropped = self->logs_dropped;
    errors_dropped = self->errors_dropped;
    logs = log_count ? malloc(log_count * sizeof(LogLine)) : NULL;
    errors = error_count ? malloc(error_count * sizeof(ErrorReport)) : NULL;
    if ((log_count && logs == NULL) || (error_count && errors == NULL)) {
        pthread_mutex_unlock(&self->lock);
        free(logs);
        free(errors);
        return PyErr_NoMemory();
    }
    if (log_count)
        memcpy(logs, self->logs, log_count * sizeof(LogLine));
    if (error_count)
        memcpy(errors, self->errors, error_count * sizeof(ErrorReport));
    self->log_count = self->error_count = 0;
    self->logs_dropped = self->errors_dropped = 0;
    pthread_mutex_unlock(&self->lock);

    PyObject *log_list = PyList_New(0), *error_list = PyList_New(0), *result = NULL;
    if (log_list == NULL || error_list == NULL)
        goto done;
    for (size_t i = 0; i < log_count; i++) {
        PyObject *item = Py_BuildValue("(iss)", logs[i].level, logs[i].facility,
                                       logs[i].message);
        if (item == NULL || PyList_Append(log_list, item) < 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    for (size_t i = 0; i < error_count; i++) {
        PyObject *item = Py_BuildValue("(is)", errors[i].code, errors[i].reason);
        if (item == NULL || PyList_Append(error_list, item) < 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    result = Py_BuildValue("(OkOk)", log_list, logs_dropped, error_list, errors_dropped);
done:
    Py_XDECREF(log_list);
    Py_XDECREF(error_list);
    free(logs);
    free(errors);
    return result;
}

static PyMethodDef Producer_methods[] = {
    {"produce", (PyCFunction)Producer_produce, METH_VARARGS, Producer_produce_doc},
    {"share_lock_flag", (PyCFunction)Producer_share_lock_flag, METH_O,
     Producer_share_lock_flag_doc},
    {"begin", (PyCFunction)Producer_begin, METH_NOARGS,
     "begin()\n\nStart a batch: forget the failures of the previous one, and ignore\n"
     "reports that still come for its messages."},
    {"failures", (PyCFunction)Producer_failures, METH_NOARGS,
     "failures() -> [(position, error_code, reason)]\n\nThe batch's messages whose "
     "delivery failed, as reported so far."},
    {"flush", (PyCFunction)Producer_flush, METH_VARARGS,
     "flush(timeout) -> messages still unacknowledged, after serving reports for up\n"
     "to timeout seconds."},
    {"poll", (PyCFunction)Producer_poll, METH_VARARGS,
     "poll(timeout) -> reports served, waiting up to timeout seconds for one."},
    {"purge", (PyCFunction)Producer_purge, METH_NOARGS,
     "purge()\n\nDrop queued and in-flight messages (their reports then say so)."},
    {"fatal_error", (PyCFunction)Producer_fatal_error, METH_NOARGS,
     "fatal_error() -> (error_code, reason) or None: whether the producer can go on."},
    {"topics", (PyCFunction)Producer_topics, METH_VARARGS,
     "topics(timeout) -> [topic names], or (error_code, reason) if the cluster did\n"
     "not answer in time."},
    {"take_reports", (PyCFunction)Producer_take_reports, METH_NOARGS,
     "take_reports() -> (logs, logs_dropped, errors, errors_dropped)\n\nlibrdkafka's log "
     "lines (level, facility, message) and error callbacks (error_code, reason)\n"
     "since the last call; at most 256 and 64 are kept, the counts say how many more\n"
     "were dropped."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProducerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "telemetry_sink_kafka._rdkafka.Producer",
    .tp_doc = "Producer(settings: dict[str, str]): a librdkafka producer whose batches are\n"
              "produced with the interpreter lock released (see produce()).",
    .tp_basicsize = sizeof(ProducerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Producer_new,
    .tp_init = (initproc)Producer_init,
    .tp_dealloc = (destructor)Producer_dealloc,
    .tp_methods = Producer_methods,
};

/* -------------------------------------------------------------------- module --- */

static PyMethodDef module_methods[] = {
    {"load", load, METH_O,
     "load(path) -> librdkafka's version string\n\nLoad librdkafka from path (once)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "telemetry_sink_kafka._rdkafka",
    "A batch producer on librdkafka's C API that releases the interpreter lock.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__rdkafka(void)
{
    if (PyType_Ready(&ProducerType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    s_line = PyUnicode_InternFromString("line");
    s_event_id = PyUnicode_InternFromString("event_id");
    s_schema_id = PyUnicode_InternFromString("schema_id");
    s_version = PyUnicode_InternFromString("version");
    ConfigError = PyErr_NewExceptionWithDoc(
        "telemetry_sink_kafka._rdkafka.ConfigError",
        "A setting librdkafka rejected: args are (name, reason); name is '' when the\n"
        "producer as a whole could not be created.", PyExc_ValueError, NULL);
    if (s_line == NULL || s_event_id == NULL || s_schema_id == NULL || s_version == NULL
        || ConfigError == NULL)
        goto error;
    Py_INCREF(&ProducerType);
    if (PyModule_AddObject(module, "Producer", (PyObject *)&ProducerType) < 0) {
        Py_DECREF(&ProducerType);
        goto error;
    }
    Py_INCREF(ConfigError);
    if (PyModule_AddObject(module, "ConfigError", ConfigError) < 0) {
        Py_DECREF(ConfigError);
        goto error;
    }
    return module;
error:
    Py_DECREF(module);
    return NULL;
}
