// kafkajs's side of caudal's compatibility matrix (test/compat):
//
//   node compat.js create  BOOTSTRAP TOPIC PARTITIONS
//   node compat.js produce BOOTSTRAP TOPIC            < key:value lines
//   node compat.js consume BOOTSTRAP TOPIC GROUP WANT > "partition offset key value" lines
//
// Each command may end with a JSON file of librdkafka properties (the
// TLS and SASL settings of a secure listener), mapped onto kafkajs's own
// options so that every client of the matrix is told the same thing.
'use strict'

const fs = require('fs')
const { Kafka, Partitioners, logLevel } = require('kafkajs')

const [mode, bootstrap, topic, ...rest] = process.argv.slice(2)
// Where the optional properties file comes in each command's arguments.
const confArg = { create: 1, produce: 0, consume: 2 }[mode]

const kafka = new Kafka({
  clientId: 'caudal-compat',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  ...securityOptions(rest[confArg]),
})

// securityOptions is kafkajs's ssl and sasl options for librdkafka's
// security.protocol, ssl.*.location and sasl.* properties.
function securityOptions (file) {
  if (file === undefined) return {}
  const props = JSON.parse(fs.readFileSync(file, 'utf8'))
  const protocol = (props['security.protocol'] || 'PLAINTEXT').toUpperCase()
  const opts = {}
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    // Node verifies the certificate's name against the address dialed
    // (an IP SAN here), as librdkafka's ssl.endpoint.identification.algorithm=https.
    opts.ssl = { ca: [fs.readFileSync(props['ssl.ca.location'])] }
    if (props['ssl.certificate.location']) {
      opts.ssl.cert = fs.readFileSync(props['ssl.certificate.location'])
      opts.ssl.key = fs.readFileSync(props['ssl.key.location'])
    }
  }
  if (protocol.startsWith('SASL_')) {
    opts.sasl = {
      mechanism: props['sasl.mechanisms'].toLowerCase(), // 'scram-sha-512'
      username: props['sasl.username'],
      password: props['sasl.password'],
    }
  }
  return opts
}

function readStdin () {
  return new Promise((resolve, reject) => {
    let data = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (c) => { data += c })
    process.stdin.on('end', () => resolve(data))
    process.stdin.on('error', reject)
  })
}

async function create (partitions) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    })
    if (!created) throw new Error(`topic ${topic} already existed`)
  } finally {
    await admin.disconnect()
  }
}

async function produce () {
  const messages = (await readStdin()).split('\n').filter((l) => l !== '').map((l) => {
    const i = l.indexOf(':')
    return { key: l.slice(0, i), value: l.slice(i + 1) }
  })
  const producer = kafka.producer({
    idempotent: true, // acks=-1, one request in flight, sequence numbers
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  try {
    // acks: -1 is acks=all; batches of 100 exercise several requests.
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100) })
    }
  } finally {
    await producer.disconnect()
  }
}

async function consume (group, want) {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let n = 0
  let finish
  const done = new Promise((resolve) => { finish = resolve })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      if (n >= want) return
      process.stdout.write(`${partition} ${message.offset} ${message.key.toString()} ${message.value.toString()}\n`)
      n++
      // Commit after processing: the next offset to read.
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }])
      if (n >= want) finish()
    },
  })
  await done
  await consumer.disconnect()
}

async function main () {
  switch (mode) {
    case 'create': return create(Number(rest[0]))
    case 'produce': return produce()
    case 'consume': return consume(rest[0], Number(rest[1]))
    default: throw new Error(`unknown mode ${mode}`)
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err)
  process.exit(1)
})
