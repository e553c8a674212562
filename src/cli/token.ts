import type { Command } from "commander";
import { parseCameraId, pushToken } from "../push/mod.ts";
import { commandSettings } from "../config/mod.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";

const tokenSettings = commandSettings(["pushSecret"]);

export function registerToken(program: Command): void {
  const token = program.command("token")
    .description("Print the WebSocket push token of a camera id (hex HMAC-SHA256 of the id).")
    .argument("<CAMERA_ID>", "camera id, an unsigned 32-bit integer in decimal");
  addSettingOptions(token, tokenSettings)
    .addHelpText(
      "after",
      `
The token is HMAC-SHA256(secret, decimal camera id) in hex; \`serve --push-secret\` checks it.
Example:
  DETECTOR_PUSH_SECRET=s3cret detector token 7`,
    )
    .action((id: string, _opts, cmd: Command) => {
      const cameraId = parseCameraId(id);
      if (cameraId === undefined) {
        throw new Error(`CAMERA_ID must be an integer from 0 to 4294967295, got "${id}"`);
      }
      const secret = resolveCommand(cmd, tokenSettings).values.pushSecret;
      if (!secret) {
        throw new Error("no secret: give --push-secret or set DETECTOR_PUSH_SECRET");
      }
      console.log(pushToken(secret, cameraId));
    });
}
