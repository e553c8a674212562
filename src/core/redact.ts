/** Removes passwords from URLs (and URL-like specs) so they can be logged or reported. */
export function redactUrl(spec: string): string {
  return spec.replace(
    /(\w[\w+.-]*:\/\/)([^/@\s:]*)(:[^/@\s]*)?@/g,
    (_m, scheme, user, pass) => pass ? `${scheme}${user}:***@` : `${scheme}${user}@`,
  );
}

/** Redacts every URL found inside free text (ffmpeg stderr, error messages). */
export function redactText(text: string): string {
  return redactUrl(text);
}
