'use strict';

// A Spark Sink stand-in for caf-stream's polling Flume tests: avsc's
// stateful server channels (Avro's Netty framing, as Java's NettyServer)
// serving SparkFlumeProtocol on 127.0.0.1:PORT, over a channel of events
// that the test fills, with transactions as the Spark Sink keeps them: a
// getEventBatch takes up to n events out of the channel under a new
// sequence number (waiting while the channel is empty, as the sink does),
// ack commits them, nack puts them back in front, and a connection that
// closes rolls back its open ones (the sink does so after its timeout).
//
// Usage: node spark_sink.js PORT. It prints {"ready":true} once listening,
// then takes one JSON command per line on stdin and prints one JSON line
// per command:
//   {"op":"put","events":[E]}     -> {"put":N}
//   {"op":"error","message":"m"}  -> {"error_set":true}: the next
//       getEventBatch answers an error batch with that message
//   {"op":"wait_acked","count":N} -> {"acked":N} once N batches were
//       acknowledged
//   {"op":"state"}                -> {"channel":N,"open":N,"acked":[seq],
//       "nacked":[seq],"rolled_back":[seq],"batches":[[body]]}: the events
//       in the channel, the open transactions, what happened to the others,
//       and the bodies (hex) of each batch sent, in order
// where E is {"headers":{...},"body":"<hex>"}.

const avro = require('avsc');
const net = require('net');
const readline = require('readline');

const protocol = {
  protocol: 'SparkFlumeProtocol',
  namespace: 'org.apache.spark.streaming.flume.sink',
  types: [
    {
      type: 'record',
      name: 'SparkSinkEvent',
      fields: [
        {name: 'headers', type: {type: 'map', values: 'string'}},
        {name: 'body', type: 'bytes'},
      ],
    },
    {
      type: 'record',
      name: 'EventBatch',
      fields: [
        {name: 'errorMsg', type: 'string', default: ''},
        {name: 'sequenceNumber', type: 'string'},
        {name: 'events', type: {type: 'array', items: 'SparkSinkEvent'}},
      ],
    },
  ],
  messages: {
    getEventBatch: {
      request: [{name: 'n', type: 'int'}],
      response: 'EventBatch',
    },
    ack: {
      request: [{name: 'sequenceNumber', type: 'string'}],
      response: 'null',
    },
    nack: {
      request: [{name: 'sequenceNumber', type: 'string'}],
      response: 'null',
    },
  },
};

let channel = [];
// Open transactions: sequence number -> {events, conn}.
const open = new Map();
const acked = [];
const nacked = [];
const rolledBack = [];
const batches = [];
// getEventBatch calls waiting for events: {n, cb, conn}.
let waiting = [];
// wait_acked commands not answered yet: the counts they wait for.
let ackWaits = [];
let nextError = null;
let counter = 0;

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function rollBack(seq) {
  const tx = open.get(seq);
  open.delete(seq);
  channel = tx.events.concat(channel);
}

function serveWaiting() {
  while (waiting.length > 0 && channel.length > 0) {
    const w = waiting.shift();
    if (!w.conn.closed) {
      takeBatch(w.n, w.cb, w.conn);
    }
  }
}

function answerAckWaits() {
  const done = ackWaits.filter((n) => acked.length >= n);
  ackWaits = ackWaits.filter((n) => acked.length < n);
  for (const n of done) {
    print({acked: n});
  }
}

function takeBatch(n, cb, conn) {
  const events = channel.splice(0, n);
  const seq = 'seq-' + (++counter);
  open.set(seq, {events: events, conn: conn});
  batches.push(events.map((e) => e.body.toString('hex')));
  cb(null, {errorMsg: '', sequenceNumber: seq, events: events});
}

const service = avro.Service.forProtocol(protocol);
const server = service.createServer({silent: true});
server.onGetEventBatch(function (n, cb) {
  const conn = this.channel.conn;
  if (nextError !== null) {
    const message = nextError;
    nextError = null;
    cb(null, {errorMsg: message, sequenceNumber: '', events: []});
  } else if (channel.length === 0) {
    waiting.push({n: n, cb: cb, conn: conn});
  } else {
    takeBatch(n, cb, conn);
  }
});
server.onAck(function (seq, cb) {
  if (open.delete(seq)) {
    acked.push(seq);
    answerAckWaits();
  }
  cb(null, null);
});
server.onNack(function (seq, cb) {
  if (open.has(seq)) {
    rollBack(seq);
    nacked.push(seq);
    serveWaiting();
  }
  cb(null, null);
});

net.createServer((socket) => {
  const conn = {closed: false};
  const ch = server.createChannel(socket);
  ch.conn = conn;
  socket.on('error', () => {});
  socket.on('close', () => {
    conn.closed = true;
    waiting = waiting.filter((w) => w.conn !== conn);
    for (const [seq, tx] of open) {
      if (tx.conn === conn) {
        rollBack(seq);
        rolledBack.push(seq);
      }
    }
    serveWaiting();
  });
}).listen(Number(process.argv[2]), '127.0.0.1', () => print({ready: true}));

const lines = readline.createInterface({input: process.stdin});
lines.on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'put') {
    for (const e of cmd.events) {
      const body = Buffer.from(e.body, 'hex');
      channel.push({headers: e.headers || {}, body: body});
    }
    serveWaiting();
    print({put: cmd.events.length});
  } else if (cmd.op === 'error') {
    nextError = cmd.message;
    print({error_set: true});
  } else if (cmd.op === 'wait_acked') {
    ackWaits.push(cmd.count);
    answerAckWaits();
  } else if (cmd.op === 'state') {
    print({
      channel: channel.length,
      open: open.size,
      acked: acked,
      nacked: nacked,
      rolled_back: rolledBack,
      batches: batches,
    });
  } else {
    print({error: 'unknown op ' + cmd.op});
  }
});
lines.on('close', () => process.exit(0));
