import type { HistoryStore } from "../history/mod.ts";
import type { BodyBudget } from "./body_budget.ts";
import type { PushServer } from "./push_socket.ts";
import type { PushSink } from "./push_sink.ts";

/** The push-ingest parts of `serve` that its routes need. */
export interface IngestServices {
  sink: PushSink;
  push: PushServer;
  /** Bearer token required by the upload routes, if any. */
  uploadToken?: string;
  history?: HistoryStore;
  /** Memory for bodies being received by all uploads and WebSocket pushes together. */
  budget: BodyBudget;
}
