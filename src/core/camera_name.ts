/**
 * Camera names that arrive from outside (upload paths, MQTT topics, push ids) end up in file names
 * and URLs: letters, digits, "_", "." and "-", 1-64 characters, not made of dots only.
 */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The reason a name is refused, or undefined when it is a safe camera name. */
export function cameraNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) {
    return `camera name "${
      name.slice(0, 70)
    }" must be 1-64 characters of letters, digits, "_", "." or "-"`;
  }
  if (/^\.+$/.test(name)) return `camera name "${name}" must not be only dots`;
  return undefined;
}
