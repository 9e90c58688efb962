// Peer for heartlink-bench: a chat-room server on the `ws` package, written
// the way many people would write one. It speaks the bench's minimal JSON
// room protocol (join / send -> chat_message + ack; see docs/BENCHMARKS.md):
// no accounts and no storage. It listens on 127.0.0.1 and the port in $PORT
// (0 = let the OS choose) and prints the real address on one stdout line.
'use strict';
const { WebSocketServer } = require('ws');

const rooms = new Map(); // room id -> Set of sockets
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT || 0), path: '/ws' });

wss.on('listening', () => {
  const { address, port } = wss.address();
  process.stdout.write(`node-ws listening on ws://${address}:${port}/ws\n`);
});

wss.on('connection', (socket) => {
  socket.joined = new Set();
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    let request;
    try { request = JSON.parse(data); } catch { return; }
    const room = String(request.room_id || '');
    if (request.type === 'join') {
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room).add(socket);
      socket.joined.add(room);
      socket.send(JSON.stringify({ type: 'joined', room_id: room }));
    } else if (request.type === 'send') {
      // Serialise once and hand the same string to every member.
      const event = JSON.stringify({ type: 'chat_message', room_id: room, body: request.body, client_msg_id: request.client_msg_id });
      for (const member of rooms.get(room) || []) member.send(event);
      socket.send(JSON.stringify({ type: 'ack', room_id: room, client_msg_id: request.client_msg_id }));
    } else if (request.type === 'ping') {
      socket.send('{"type":"pong"}');
    }
  });
  socket.on('close', () => {
    for (const room of socket.joined) {
      const members = rooms.get(room);
      if (members) { members.delete(socket); if (members.size === 0) rooms.delete(room); }
    }
  });
  socket.on('error', () => {});
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
