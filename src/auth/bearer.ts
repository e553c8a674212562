/** The token of an `Authorization: Bearer TOKEN` header, if the request has one. */
export function bearerToken(req: Request): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1];
}
