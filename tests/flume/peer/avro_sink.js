'use strict';

// A Flume AvroSink stand-in for caf-stream's Flume tests: avsc's stateful
// channel (Avro's Netty framing, as Java's NettyTransceiver) calling
// AvroSourceProtocol on 127.0.0.1:PORT.
//
// Usage: node avro_sink.js PORT [--deflate]. It prints {"ready":true} after
// the handshake, then takes one JSON command per line on stdin and prints one
// JSON line per command:
//   {"op":"append","event":E}          -> {"status":"OK"} or {"error":"..."}
//   {"op":"appendBatch","events":[E]}  -> {"status":"OK"} or {"error":"..."}
//   {"op":"cut","events":[E],"keep":N} -> {"cut":true}: sends the first N
//       bytes of an appendBatch request, then disconnects (not with
//       --deflate)
// where E is {"headers":{...},"body":"<hex>"}. With --deflate the connection
// is compressed as a sink's with compression-type = deflate: a zlib stream
// each way, flushed after each write (Netty's ZlibEncoder and ZlibDecoder).

const avro = require('avsc');
const net = require('net');
const readline = require('readline');
const stream = require('stream');
const zlib = require('zlib');

const protocol = {
  protocol: 'AvroSourceProtocol',
  namespace: 'org.apache.flume.source.avro',
  types: [
    {type: 'enum', name: 'Status', symbols: ['OK', 'FAILED', 'UNKNOWN']},
    {
      type: 'record',
      name: 'AvroFlumeEvent',
      fields: [
        {name: 'headers', type: {type: 'map', values: 'string'}},
        {name: 'body', type: 'bytes'},
      ],
    },
  ],
  messages: {
    append: {
      request: [{name: 'event', type: 'AvroFlumeEvent'}],
      response: 'Status',
    },
    appendBatch: {
      request: [{name: 'events', type: {type: 'array', items: 'AvroFlumeEvent'}}],
      response: 'Status',
    },
  },
};

const service = avro.Service.forProtocol(protocol);
const socket = net.connect(Number(process.argv[2]), '127.0.0.1');
const deflate = process.argv.includes('--deflate');
// What the channel writes to and reads from: the socket, or a zlib stream
// each way over it.
let transport = socket;
if (deflate) {
  const out = zlib.createDeflate({
    level: 6,
    flush: zlib.constants.Z_SYNC_FLUSH,
  });
  const inflate = zlib.createInflate();
  out.pipe(socket);
  socket.pipe(inflate);
  inflate.on('error', (err) => print({error: 'inflate: ' + err.message}));
  transport = stream.Duplex.from({writable: out, readable: inflate});
}
const client = service.createClient({buffering: true});
const channel = client.createChannel(transport);

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function toEvent(e) {
  return {headers: e.headers || {}, body: Buffer.from(e.body, 'hex')};
}

channel.on('handshake', (req, res) => print({ready: true, match: res.match}));
channel.on('eot', () => print({eot: true}));
socket.on('error', (err) => print({error: 'socket: ' + err.message}));

function reply(err, status) {
  print(err ? {error: err.message || String(err)} : {status: status});
}

// The bytes of an appendBatch request on a connection past its handshake:
// empty call metadata, the message name, the events.
function appendBatchRequest(events) {
  const meta = Buffer.from([0]);
  const name = avro.Type.forSchema('string').toBuffer('appendBatch');
  const params = service.message('appendBatch').requestType
    .toBuffer({events: events});
  return Buffer.concat([meta, name, params]);
}

const lines = readline.createInterface({input: process.stdin});
lines.on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'append') {
    client.append(toEvent(cmd.event), reply);
  } else if (cmd.op === 'appendBatch') {
    client.appendBatch(cmd.events.map(toEvent), reply);
  } else if (cmd.op === 'cut' && deflate) {
    print({error: 'cut writes plain bytes: not with --deflate'});
  } else if (cmd.op === 'cut') {
    const request = appendBatchRequest(cmd.events.map(toEvent));
    const head = Buffer.alloc(12);
    head.writeInt32BE(999, 0);
    head.writeInt32BE(1, 4);
    head.writeInt32BE(request.length, 8);
    socket.write(Buffer.concat([head, request]).subarray(0, cmd.keep), () => {
      socket.destroy();
      print({cut: true});
    });
  } else {
    print({error: 'unknown op ' + cmd.op});
  }
});
lines.on('close', () => {
  channel.destroy();
  socket.end();
});
