"""Consume-transform-produce with confluent_kafka's transactions, as
confluent's eos-transactions example does it, for
TestExactlyOnceUnderKills (txn_eos_test.go).

Usage: txn_eos.py BOOTSTRAP SRC DST GROUP TRANSACTIONAL_ID END,END,...

Copies every record of SRC (partition p, value v) to DST's partition p,
50 records per transaction, committing the consumed offsets in the same
transaction, until the group's committed offsets reach END for every
partition. Every 7th transaction is aborted on purpose after its
produce, so that the output holds aborted records whatever the faults.
Prints "COMMITTED <records>" after each commit, where records counts the
records of all committed transactions, and "ABORTED <reason>" after each
abort; exits non-zero on a fatal error.
"""

import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_INVALID, Consumer,
                             KafkaError, KafkaException, Producer,
                             TopicPartition)

bootstrap, src, dst, group, txn_id = sys.argv[1:6]
ends = [int(e) for e in sys.argv[6].split(",")]

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "isolation.level": "read_committed",
})
producer = Producer({
    "bootstrap.servers": bootstrap,
    "transactional.id": txn_id,
    "transaction.timeout.ms": 10000,
    "linger.ms": 5,
})


# What OffsetFetch answers while the group's coordinator moves (a gateway
# was killed, or came back): librdkafka 2.0.2 hands it to committed()'s
# caller rather than asking the new coordinator.
COORDINATOR_MOVING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                      KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._TIMED_OUT,
                      KafkaError._TRANSPORT, KafkaError._WAIT_COORD}


def committed():
    """The group's committed offsets of every partition of SRC."""
    tps = [TopicPartition(src, p) for p in range(len(ends))]
    for attempt in range(100):
        try:
            return consumer.committed(tps, timeout=30)
        except KafkaException as e:
            if e.args[0].code() not in COORDINATOR_MOVING or attempt == 99:
                raise
            time.sleep(0.1)


def finished():
    return all(tp.offset >= ends[tp.partition] for tp in committed())


def rewind():
    """Back to the offsets the last committed transaction committed: the
    records after them were only in aborted transactions."""
    for tp in committed():
        if tp.partition not in assigned():
            continue
        if tp.offset == OFFSET_INVALID:
            tp.offset = OFFSET_BEGINNING
        consumer.seek(tp)


def assigned():
    return {tp.partition for tp in consumer.assignment()}


def commit():
    """Commits the transaction, retrying what is retriable; on an error
    that requires it, aborts and rewinds. Returns whether it committed."""
    while True:
        try:
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()),
                consumer.consumer_group_metadata())
            producer.commit_transaction()
            return True
        except KafkaException as e:
            err = e.args[0]
            if err.retriable():
                continue
            if not err.txn_requires_abort():
                raise
            print("ABORTED %s" % err, flush=True)
            producer.abort_transaction()
            rewind()
            return False


producer.init_transactions(60)
consumer.subscribe([src])
transactions = copied = 0
while True:
    msgs = consumer.consume(num_messages=50, timeout=1.0)
    if not msgs:
        if finished():
            break
        continue
    producer.begin_transaction()
    for m in msgs:
        if m.error():
            raise KafkaException(m.error())
        producer.produce(dst, value=m.value(), partition=m.partition())
    transactions += 1
    if transactions % 7 == 0:
        producer.flush(30)  # the records are written, then aborted
        print("ABORTED on purpose", flush=True)
        producer.abort_transaction()
        rewind()
        continue
    if commit():
        copied += len(msgs)
        print("COMMITTED %d" % copied, flush=True)
consumer.close()
print("DONE", flush=True)
