/** `detector mpta validate|inspect|pack|extract`: check, show, build and unpack `.mpta` archives. */
import type { Command } from "commander";
import { validateArchive, type ValidationReport } from "../mpta/mod.ts";
import { renderTree, summariseArchive } from "../mpta/mod.ts";
import { commandSettings } from "../config/mod.ts";
import { type ArchiveLimits, DEFAULT_LIMITS } from "../mpta/mod.ts";
import { packDirectory } from "../mpta/mod.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";

const limitSettings = commandSettings(["maxEntries", "maxTotalBytes"]);

function limitsFrom(cmd: Command): Partial<ArchiveLimits> {
  const { values: v, origins } = resolveCommand(cmd, limitSettings);
  const l: Partial<ArchiveLimits> = { maxEntries: v.maxEntries };
  if (origins.maxTotalBytes !== "default") {
    l.maxTotalBytes = v.maxTotalBytes;
    l.maxEntryBytes = Math.min(v.maxTotalBytes, DEFAULT_LIMITS.maxEntryBytes);
  }
  return l;
}

function printReport(file: string, r: ValidationReport): void {
  for (const e of r.errors) console.log(`${file}: error: ${e.path}: ${e.message}`);
  for (const w of r.warnings) console.log(`${file}: warning: ${w.path}: ${w.message}`);
  if (r.archive) {
    const models = Object.keys(r.archive.models ?? {}).length;
    console.log(`${file}: ok (${models} model${models === 1 ? "" : "s"})`);
  }
}

function addLimitOptions(cmd: Command): Command {
  return addSettingOptions(cmd, limitSettings);
}

export function registerMpta(program: Command): void {
  const mpta = program.command("mpta").description(
    "Pipeline archives (.mpta): validate, inspect, pack, extract. Format: pipeline.json + ONNX models.",
  );

  addLimitOptions(
    mpta.command("validate")
      .description(
        "Check archives against the MPTA schema; one line per problem with its JSON path",
      )
      .argument("<files...>", ".mpta files")
      .option("--json", "print one JSON array of {file, ok, errors, warnings}")
      .option("--no-load", "do not create an ONNX Runtime session per model (only read metadata)"),
  ).addHelpText(
    "after",
    `
Exit status: 0 when every archive is valid, 1 otherwise.
Examples:
  detector mpta validate pipelines/car_frontal_full.mpta
  detector mpta validate --json models/*.mpta`,
  ).action(async (files: string[], opts: { json?: boolean; load: boolean }, cmd: Command) => {
    const results = [];
    let bad = 0;
    for (const file of files) {
      const r = await validateArchive(file, {
        limits: limitsFrom(cmd),
        loadModels: opts.load,
        name: file,
      });
      if (!r.archive) bad++;
      if (opts.json) {
        results.push({ file, ok: !!r.archive, errors: r.errors, warnings: r.warnings });
      } else printReport(file, r);
    }
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    if (bad) Deno.exitCode = 1;
  });

  addLimitOptions(
    mpta.command("inspect")
      .description("Show the node tree: models, input/output shapes, classes, triggers, actions")
      .argument("<file>", ".mpta file")
      .option("--json", "print the tree as JSON (passwords replaced by ***)"),
  ).addHelpText(
    "after",
    `
Examples:
  detector mpta inspect pipelines/car_frontal_full.mpta
  detector mpta inspect --json pipelines/car_frontal_full.mpta | jq .pipeline.branches`,
  ).action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
    const r = await validateArchive(file, { limits: limitsFrom(cmd), name: file });
    if (!r.archive) {
      if (opts.json) console.log(JSON.stringify({ file, ok: false, errors: r.errors }, null, 2));
      else printReport(file, r);
      Deno.exitCode = 1;
      return;
    }
    const summary = summariseArchive(r.archive);
    if (opts.json) {
      console.log(JSON.stringify({ file, ok: true, ...summary, warnings: r.warnings }, null, 2));
    } else {
      console.log(renderTree(file, summary));
      for (const w of r.warnings) console.log(`warning: ${w.path}: ${w.message}`);
    }
  });

  mpta.command("pack")
    .description("Build an archive from a folder holding pipeline.json and its ONNX models")
    .argument("<dir>", "folder with pipeline.json at its top or in one subfolder")
    .requiredOption("-o, --output <file>", "archive to write (.mpta)")
    .option("--force", "write the archive even when it does not validate")
    .addHelpText(
      "after",
      `
The archive is deterministic (sorted entries, fixed times). It is validated before writing.
Example:
  detector mpta pack ./my_pipeline -o my_pipeline.mpta`,
    )
    .action(async (dir: string, opts: { output: string; force?: boolean }) => {
      const bytes = await packDirectory(dir);
      const r = await validateArchive(bytes, { name: opts.output });
      if (!r.archive && !opts.force) {
        printReport(dir, r);
        console.log(`${opts.output}: not written (fix the problems above or pass --force)`);
        Deno.exitCode = 1;
        return;
      }
      await Deno.writeFile(opts.output, bytes);
      for (const w of r.warnings) console.log(`${dir}: warning: ${w.path}: ${w.message}`);
      console.log(
        `wrote ${opts.output} (${bytes.length} bytes${
          r.archive ? `, sha256 ${r.archive.hash.slice(0, 16)}` : ", INVALID"
        })`,
      );
    });

  mpta.command("extract")
    .description("Write pipeline.json and the model files of a valid archive into a folder")
    .argument("<file>", ".mpta file")
    .requiredOption("-o, --output <dir>", "folder to write into (created when missing)")
    .addHelpText(
      "after",
      `
The files keep their paths relative to pipeline.json; \`mpta pack\` builds the archive again.
Example:
  detector mpta extract pipelines/car_frontal_full.mpta -o car
  detector detect frame.jpg --model car/car_frontal_detection_v1.onnx`,
    )
    .action(async (file: string, opts: { output: string }) => {
      const r = await validateArchive(file, { name: file, loadModels: false });
      if (!r.archive) {
        printReport(file, r);
        Deno.exitCode = 1;
        return;
      }
      for (const path of r.archive.paths ?? []) {
        const bytes = r.archive.file(path);
        if (!bytes) continue;
        const target = `${opts.output.replace(/(.)\/+$/, "$1")}/${path}`;
        await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(target, bytes);
        console.log(`${target} (${bytes.length} bytes)`);
      }
    });
}
