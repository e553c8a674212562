export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** Longest error message sent; longer ones echo a value the client chose, and are cut. */
const MAX_ERROR_CHARS = 300;

/** JSON error body `{ "error": message, ...extra }`, the message cut to ~300 characters. */
export function jsonError(
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers: HeadersInit = {},
): Response {
  const error = message.length <= MAX_ERROR_CHARS
    ? message
    : `${message.slice(0, MAX_ERROR_CHARS)}… (${message.length} characters)`;
  return json({ error, ...extra }, status, headers);
}
