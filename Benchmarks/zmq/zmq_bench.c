/* zmq_bench: the C baseline for `SwitchyardBench zmq`.
 *
 * One-way throughput straight against libzmq, with the same structure as the Swift side:
 * the receiver binds in the main thread, a sender thread connects and sends N messages with
 * zmq_send, the receiver reads them with zmq_msg_recv into one reused zmq_msg_t.
 * Patterns: PUSH->PULL and DEALER->ROUTER (the ROUTER also reads the routing-id frame).
 * Transports: inproc and tcp loopback (port picked by the kernel).
 * Plus "inproc_same_thread": PUSH->PULL with sender and receiver on one thread (bursts of 100),
 * which measures the per-call cost alone, free of thread scheduling noise on a busy machine.
 *
 * Usage: zmq_bench <messages-64B> <messages-4KiB>
 * Prints one JSON object per line:
 *   {"pattern":"push_pull","transport":"inproc","size":64,"messages":N,"seconds":S,
 *    "msgs_per_s":X,"mb_per_s":Y}
 */
#include <zmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond, what) do { if (!(cond)) { fprintf(stderr, "zmq_bench: %s: %s\n", what, zmq_strerror(zmq_errno())); exit(1); } } while (0)

typedef struct {
    void *context;
    int sender_type;
    char endpoint[256];
    size_t size;
    long count;
} sender_args;

static void *sender(void *raw) {
    sender_args *args = raw;
    void *socket = zmq_socket(args->context, args->sender_type);
    CHECK(socket, "zmq_socket (sender)");
    int linger = 1000;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    CHECK(zmq_connect(socket, args->endpoint) == 0, "zmq_connect");
    char *payload = calloc(1, args->size);
    for (long i = 0; i < args->count; i++) {
        while (zmq_send(socket, payload, args->size, 0) == -1) {
            CHECK(zmq_errno() == EINTR, "zmq_send");
        }
    }
    free(payload);
    zmq_close(socket);
    return NULL;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(const char *pattern, const char *transport, size_t size, long count) {
    int router = strcmp(pattern, "dealer_router") == 0;
    void *context = zmq_ctx_new();
    CHECK(context, "zmq_ctx_new");
    void *receiver = zmq_socket(context, router ? ZMQ_ROUTER : ZMQ_PULL);
    CHECK(receiver, "zmq_socket (receiver)");
    int linger = 0;
    zmq_setsockopt(receiver, ZMQ_LINGER, &linger, sizeof linger);

    sender_args args = { context, router ? ZMQ_DEALER : ZMQ_PUSH, "", size, count };
    if (strcmp(transport, "inproc") == 0) {
        snprintf(args.endpoint, sizeof args.endpoint, "inproc://bench");
        CHECK(zmq_bind(receiver, args.endpoint) == 0, "zmq_bind inproc");
    } else {
        CHECK(zmq_bind(receiver, "tcp://127.0.0.1:*") == 0, "zmq_bind tcp");
        size_t length = sizeof args.endpoint;
        CHECK(zmq_getsockopt(receiver, ZMQ_LAST_ENDPOINT, args.endpoint, &length) == 0, "ZMQ_LAST_ENDPOINT");
    }

    zmq_msg_t message;
    zmq_msg_init(&message);
    double start = now_seconds();
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, sender, &args) == 0, "pthread_create");
    for (long i = 0; i < count; i++) {
        if (router) {
            while (zmq_msg_recv(&message, receiver, 0) == -1) CHECK(zmq_errno() == EINTR, "recv id");
        }
        while (zmq_msg_recv(&message, receiver, 0) == -1) CHECK(zmq_errno() == EINTR, "recv payload");
        if (zmq_msg_size(&message) != size) { fprintf(stderr, "zmq_bench: wrong size\n"); exit(1); }
    }
    double seconds = now_seconds() - start;
    pthread_join(thread, NULL);
    zmq_msg_close(&message);
    zmq_close(receiver);
    zmq_ctx_term(context);

    printf("{\"pattern\":\"%s\",\"transport\":\"%s\",\"size\":%zu,\"messages\":%ld,\"seconds\":%.6f,"
           "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f}\n",
           pattern, transport, size, count, seconds, count / seconds, count * (double)size / seconds / 1e6);
    fflush(stdout);
}

static void run_same_thread(size_t size, long count) {
    void *context = zmq_ctx_new();
    CHECK(context, "zmq_ctx_new");
    void *receiver = zmq_socket(context, ZMQ_PULL);
    void *push = zmq_socket(context, ZMQ_PUSH);
    CHECK(receiver && push, "zmq_socket");
    int linger = 0;
    zmq_setsockopt(receiver, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    CHECK(zmq_bind(receiver, "inproc://same") == 0, "zmq_bind");
    CHECK(zmq_connect(push, "inproc://same") == 0, "zmq_connect");
    char *payload = calloc(1, size);
    zmq_msg_t message;
    zmq_msg_init(&message);
    const long burst = 100;
    double start = now_seconds();
    for (long done = 0; done < count; done += burst) {
        for (long i = 0; i < burst; i++)
            while (zmq_send(push, payload, size, 0) == -1) CHECK(zmq_errno() == EINTR, "zmq_send");
        for (long i = 0; i < burst; i++) {
            while (zmq_msg_recv(&message, receiver, 0) == -1) CHECK(zmq_errno() == EINTR, "recv");
            if (zmq_msg_size(&message) != size) { fprintf(stderr, "zmq_bench: wrong size\n"); exit(1); }
        }
    }
    double seconds = now_seconds() - start;
    long sent = (count + burst - 1) / burst * burst;
    free(payload);
    zmq_msg_close(&message);
    zmq_close(push);
    zmq_close(receiver);
    zmq_ctx_term(context);
    printf("{\"pattern\":\"push_pull\",\"transport\":\"inproc_same_thread\",\"size\":%zu,\"messages\":%ld,"
           "\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f}\n",
           size, count, seconds, sent / seconds, sent * (double)size / seconds / 1e6);
    fflush(stdout);
}

int main(int argc, char **argv) {
    long small = argc > 1 ? atol(argv[1]) : 1000000;
    long large = argc > 2 ? atol(argv[2]) : 200000;
    const char *patterns[] = { "push_pull", "dealer_router" };
    const char *transports[] = { "inproc", "tcp" };
    for (int p = 0; p < 2; p++)
        for (int t = 0; t < 2; t++) {
            run(patterns[p], transports[t], 64, small);
            run(patterns[p], transports[t], 4096, large);
        }
    run_same_thread(64, small);
    return 0;
}
