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
records of all committed transactions, "ABORTED <reason>" after each
abort, "RETRIED <call>: <error>" after each retriable failure, "REPLACED"
when it gives a producer up (a fatal error, or see COMMIT_TRIES) and
"TRACE" lines that the test shows if the job fails; exits non-zero on
any other error it cannot go on from.
"""

import os
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
    "reconnect.backoff.max.ms": 1000,  # as the producer's
})


def new_producer():
    p = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": 10000,
        "linger.ms": 5,
        # librdkafka backs off reconnecting to a broker up to 10 s, as
        # long as the transaction's timeout: a partition whose gateway
        # came back within a second stayed unreachable until its
        # records timed out. The Java client's default is 1 s.
        "reconnect.backoff.max.ms": 1000,
    })
    p.init_transactions(60)
    return p


producer = new_producer()
wedged = []  # producers given up on, never destroyed: that may hang too


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
            trace("committed: %s" % e)
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


# How long one transactional call may wait before it is made again, and
# how many times a commit is. Without a timeout librdkafka 2.0.2 waits
# forever, and in about one run in six under load its commit_transaction
# had not returned two minutes after the coordinator's second kill; the
# gateways had heard no EndTxn, and aborted the transaction when it timed
# out. Made again, the call resumes (a different call meanwhile is refused
# with _CONFLICT) and sometimes then completes; when it does not, the job
# does what an application does with a producer that cannot go on: it
# starts a new one with the same transactional.id, whose
# init_transactions fences the old one and aborts its transaction, and
# rewinds. Exactly once still holds, and the test checks it.
CALL_TIMEOUT = 10
COMMIT_TRIES = 3


def trace(what):
    """A line the test shows if the job fails."""
    print("TRACE %.3f %s" % (time.time(), what), flush=True)


def replace(why):
    """Gives the producer up for a new one with the same transactional.id,
    as an application must after a fatal error: its init_transactions
    aborts whatever the old one left open."""
    global producer
    print("REPLACED the producer: %s" % why, flush=True)
    wedged.append(producer)
    producer = new_producer()


def abort():
    while True:
        try:
            producer.abort_transaction(CALL_TIMEOUT)
            return
        except KafkaException as e:
            err = e.args[0]
            trace("abort_transaction: %s" % err)
            if err.fatal():
                replace(err)
                return
            if not err.retriable():
                raise


# What retrying returns for a producer whose call timed out tries times in
# a row. A sentinel compared by identity: KafkaError's == takes its other
# side for an error code, and given a str it leaves a TypeError pending
# that the next unrelated line raises.
WEDGED = object()


def retrying(call, what, tries=None):
    """Makes call until it succeeds or fails for good: returns None, the
    error when it requires an abort or is fatal, or WEDGED when it timed
    out tries times in a row."""
    while True:
        try:
            trace(what)
            call()
            return None
        except KafkaException as e:
            err = e.args[0]
            if err.retriable():
                print("RETRIED %s: %s" % (what, err), flush=True)
                if tries is not None and err.code() == KafkaError._TIMED_OUT:
                    tries -= 1
                    if tries == 0:
                        return WEDGED
                continue
            trace("%s: %s" % (what, err))
            if not err.txn_requires_abort() and not err.fatal():
                raise
            return err


def commit():
    """Commits the transaction, retrying what is retriable; on an error
    that requires it, aborts and rewinds, and on a producer that is fenced
    (the coordinator aborted its transaction when it timed out) or no
    longer progresses, replaces it and rewinds. Returns whether it
    committed."""
    err = retrying(lambda: producer.send_offsets_to_transaction(
        consumer.position(consumer.assignment()),
        consumer.consumer_group_metadata(), CALL_TIMEOUT), "send_offsets_to_transaction")
    if err is None:
        err = retrying(lambda: producer.commit_transaction(CALL_TIMEOUT), "commit_transaction", COMMIT_TRIES)
    if err is None:
        return True
    if err is WEDGED:
        replace("its commit never completed")
    elif err.fatal():
        replace(err)
    else:
        print("ABORTED %s" % err, flush=True)
        abort()
    rewind()
    return False


consumer.subscribe([src])
transactions = copied = 0
while True:
    msgs = consumer.consume(num_messages=50, timeout=1.0)
    trace("consumed %d, assigned %s" % (len(msgs), sorted(assigned())))
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
        abort()
        rewind()
        continue
    if commit():
        copied += len(msgs)
        print("COMMITTED %d" % copied, flush=True)
consumer.close()
print("DONE", flush=True)
os._exit(0)  # not destroying a wedged producer, which may hang
