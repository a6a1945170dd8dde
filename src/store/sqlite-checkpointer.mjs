// The SQLite WAL checkpointer, run on a worker thread (plain JavaScript: a worker does not inherit tsx's hooks).
// The serving connection turns automatic checkpoints down to a rare safety net; this thread copies the WAL back
// into the database file with PASSIVE checkpoints, which never block writers, so the copying and its fsyncs
// happen on another core instead of inside some request's COMMIT.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const db = new SQLite(workerData.path);
db.pragma('busy_timeout = 1000');
setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}, workerData.intervalMs);
