/**
 * Actions of a node tree compiled once (templates checked, identifiers validated) and turned into
 * the writes of one event. Planning does every fallible step — rendering, cropping, encoding —
 * before anything is written, so an event is written whole or not at all.
 */
import type { Box } from "../core/mod.ts";
import type { Detection } from "../inference/mod.ts";
import { BRANCH_RESULT_FIELDS, resultFieldFor, SIMPLE_PLACEHOLDERS } from "../mpta/mod.ts";
import type { Action, PipelineNode } from "../mpta/mod.ts";
import { compileMessageTemplate } from "./json_template.ts";
import { checkIdentifier, qualifiedTable } from "./sql_identifiers.ts";
import {
  type CompiledTemplate,
  compileTemplate,
  lookup,
  type TemplateValue,
  type TemplateValues,
} from "./template.ts";
import type { FieldValue, WriteOp } from "./write_op.ts";

export type CompiledAction =
  | {
    type: "redis_save_image";
    path: string;
    key: CompiledTemplate;
    region?: string;
    format: "jpeg" | "png";
    quality: number;
    ttl?: number;
  }
  | { type: "redis_publish"; path: string; channel: CompiledTemplate; message: CompiledTemplate }
  | {
    type: "postgresql_update_combined";
    path: string;
    table: string;
    keyField: string;
    keyValue: CompiledTemplate;
    waitForBranches: string[];
    fields: { column: string; value: CompiledTemplate | "NOW()" }[];
  };

export interface NodeActions {
  actions: CompiledAction[];
  parallelActions: CompiledAction[];
}

export class ActionConfigError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("; "));
    this.name = "ActionConfigError";
  }
}

/** Placeholder names a node's parallelActions may use besides the simple ones. */
export function branchPlaceholders(node: PipelineNode): Set<string> {
  const out = new Set<string>();
  for (const b of node.branches) {
    for (const f of [...BRANCH_RESULT_FIELDS, resultFieldFor(b)]) out.add(`${b.modelId}.${f}`);
  }
  return out;
}

/** Compiles the actions of every node of the tree, keyed by modelId; collects every problem. */
export function compileTreeActions(root: PipelineNode): Map<string, NodeActions> {
  const out = new Map<string, NodeActions>();
  const problems: { path: string; message: string }[] = [];
  const visit = (node: PipelineNode, path: string) => {
    const simple = (n: string) => SIMPLE_PLACEHOLDERS.has(n);
    const withBranches = branchPlaceholders(node);
    const parallelKnown = (n: string) => simple(n) || withBranches.has(n);
    const compileList = (list: Action[], key: string, isKnown: (n: string) => boolean) =>
      list.flatMap((a, i) => {
        try {
          return [compileAction(a, `${path}.${key}[${i}]`, isKnown, node)];
        } catch (err) {
          problems.push({ path: `${path}.${key}[${i}]`, message: (err as Error).message });
          return [];
        }
      });
    out.set(node.modelId, {
      actions: compileList(node.actions, "actions", simple),
      parallelActions: compileList(node.parallelActions, "parallelActions", parallelKnown),
    });
    node.branches.forEach((b, i) => visit(b, `${path}.branches[${i}]`));
  };
  visit(root, "pipeline");
  if (problems.length) throw new ActionConfigError(problems);
  return out;
}

function field<T>(fn: () => T, name: string): T {
  try {
    return fn();
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

function compileAction(
  a: Action,
  path: string,
  isKnown: (n: string) => boolean,
  node: PipelineNode,
): CompiledAction {
  switch (a.type) {
    case "redis_save_image": {
      if (a.format !== "jpeg" && a.format !== "png") {
        throw new Error(`format must be "jpeg" or "png"`);
      }
      if (!(a.quality >= 1 && a.quality <= 100)) throw new Error("quality must be 1..100");
      if (a.expire_seconds !== undefined && !(a.expire_seconds > 0)) {
        throw new Error("expire_seconds must be a positive number");
      }
      return {
        type: a.type,
        path,
        key: field(() => compileTemplate(a.key, isKnown), "key"),
        region: a.region,
        format: a.format,
        quality: a.quality,
        ttl: a.expire_seconds,
      };
    }
    case "redis_publish":
      return {
        type: a.type,
        path,
        channel: field(() => compileTemplate(a.channel, isKnown), "channel"),
        message: field(() => compileMessageTemplate(a.message, isKnown), "message"),
      };
    case "postgresql_update_combined": {
      qualifiedTable(a.table);
      checkIdentifier(a.key_field, "key_field");
      for (const b of a.waitForBranches) {
        if (!node.branches.some((x) => x.modelId === b)) {
          throw new Error(`waitForBranches names "${b}", which is not a branch of this node`);
        }
      }
      if (!a.fields || typeof a.fields !== "object" || Object.keys(a.fields).length === 0) {
        throw new Error("fields must map at least one column to a template");
      }
      const fields = Object.entries(a.fields).map(([column, tpl]) => {
        checkIdentifier(column, "fields column");
        if (column.toLowerCase() === a.key_field.toLowerCase()) {
          throw new Error(`fields must not set the key_field "${column}"`);
        }
        if (typeof tpl !== "string") throw new Error(`fields.${column} must be a string template`);
        const value = tpl.trim() === "NOW()"
          ? "NOW()" as const
          : field(() => compileTemplate(tpl, isKnown), `fields.${column}`);
        return { column, value };
      });
      return {
        type: a.type,
        path,
        table: a.table,
        keyField: a.key_field,
        keyValue: field(() => compileTemplate(a.key_value, isKnown), "key_value"),
        waitForBranches: a.waitForBranches,
        fields,
      };
    }
    default:
      throw new Error(`unknown action type ${JSON.stringify((a as { type: unknown }).type)}`);
  }
}

/** What actions of one node need to plan their writes. */
export interface ActionScope {
  values: TemplateValues;
  regions: Record<string, Detection>;
  /** Encodes the whole image (box null) or a box of the node's input image. */
  encode(
    box: Box | null,
    format: "jpeg" | "png",
    quality: number,
  ): Promise<{ bytes: Uint8Array; width: number; height: number }>;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A template that is one placeholder keeps the value's type (number, null); others are text. */
function renderField(t: CompiledTemplate, values: TemplateValues): FieldValue {
  if (t.placeholders.length === 1 && t.source === `{${t.placeholders[0]}}`) {
    const v: TemplateValue = lookup(values, t.placeholders[0]);
    if (v === undefined || v === null) return null;
    if (typeof v === "boolean") return String(v);
    return v;
  }
  return t.render(values);
}

/** Appends the writes of a list of actions to `out`; sets `{image_key}` after an image save. */
export async function planActions(
  list: CompiledAction[],
  scope: ActionScope,
  out: WriteOp[],
): Promise<void> {
  for (const a of list) {
    switch (a.type) {
      case "redis_save_image": {
        let box: Box | null = null;
        if (a.region) {
          const d = scope.regions[a.region];
          if (d) box = d.box;
          else {
            scope.warn("region not detected, saving the whole frame", {
              action: a.path,
              region: a.region,
            });
          }
        }
        const key = a.key.render(scope.values);
        if (!key) throw new Error(`${a.path}: key rendered empty`);
        const img = await scope.encode(box, a.format, a.quality);
        out.push({
          sink: "redis",
          op: "set",
          key,
          value: img.bytes,
          ...(a.ttl ? { ttl: a.ttl } : {}),
        });
        scope.values.image_key = key;
        break;
      }
      case "redis_publish":
        out.push({
          sink: "redis",
          op: "publish",
          channel: a.channel.render(scope.values),
          message: a.message.render(scope.values),
        });
        break;
      case "postgresql_update_combined": {
        const keyValue = a.keyValue.render(scope.values);
        if (!keyValue) throw new Error(`${a.path}: key_value rendered empty`);
        const fields: Record<string, FieldValue> = {};
        const now: string[] = [];
        for (const f of a.fields) {
          if (f.value === "NOW()") now.push(f.column);
          else fields[f.column] = renderField(f.value, scope.values);
        }
        out.push({
          sink: "postgres",
          op: "upsert",
          table: a.table,
          keyField: a.keyField,
          keyValue,
          fields,
          ...(now.length ? { now } : {}),
        });
        break;
      }
    }
  }
}
