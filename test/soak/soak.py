"""The soak's confluent_kafka (librdkafka) clients, with default retry settings.

    soak.py produce BOOTSTRAP TOPIC PARTITIONS RATE
    soak.py consume BOOTSTRAP TOPIC GROUP

Both run until SIGTERM and print one event per line, which the Go side
parses (a value's head is "producer seq unixnano"):

    A partition offset HEAD   a delivery acknowledged
    F HEAD text               a delivery the client gave up on, or produce() refused
    U n                       records still undelivered when the producer stopped
    R partition offset HEAD   a record read
    E text                    an error the client reported (error_cb, fetch, commit)
"""
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

PRODUCER = "confluent"
PADDING = "x" * 150  # gives the objects some bytes to merge

running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def out(*fields):
    print(*fields, flush=True)


def one_line(text):
    return " ".join(str(text).split())


def error_cb(err):
    out("E", one_line(err))


def head(value):
    return " ".join(value.decode().split(" ", 3)[:3])


def produce(bootstrap, topic, partitions, rate):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "error_cb": error_cb})

    def delivered(err, msg):
        if err is None:
            out("A", msg.partition(), msg.offset(), head(msg.value()))
        else:
            out("F", head(msg.value()), one_line(err))

    seq, start = 0, time.monotonic()
    while running:
        value = "%s %d %d %s" % (PRODUCER, seq, time.time_ns(), PADDING)
        try:
            p.produce(topic, value=value.encode(), partition=seq % partitions, on_delivery=delivered)
        except (KafkaException, BufferError) as e:
            out("F", head(value.encode()), one_line(e))
        seq += 1
        # Serve delivery reports while waiting for the next record's turn.
        while running:
            delay = start + seq / rate - time.monotonic()
            if delay <= 0:
                break
            p.poll(delay)
    out("U", p.flush(60))
    # Leave without the purge that destroying the producer would report
    # as more failed deliveries: the ones left are counted as undelivered.
    os._exit(0)


def consume(bootstrap, topic, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "error_cb": error_cb})
    c.subscribe([topic])
    while running:
        msgs = c.consume(500, 0.5)
        for m in msgs:
            if m.error():
                out("E", one_line(m.error()))
            else:
                out("R", m.partition(), m.offset(), head(m.value()))
        # Commit only what was printed, i.e. processed.
        if any(not m.error() for m in msgs):
            try:
                c.commit(asynchronous=False)
            except KafkaException as e:
                out("E", "commit:", one_line(e))
    c.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "produce":
        produce(args[0], args[1], int(args[2]), float(args[3]))
    elif mode == "consume":
        consume(*args)
    else:
        sys.exit("unknown mode " + mode)
