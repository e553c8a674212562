/** A small Prometheus text-format registry: counters and gauges with labels, plus collectors. */
type Labels = Record<string, string | number>;

interface Family {
  type: "counter" | "gauge";
  help: string;
  values: Map<string, number>;
}

function labelKey(labels?: Labels): string {
  if (!labels) return "";
  const parts = Object.keys(labels).sort().map((k) =>
    `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

export interface Sample {
  name: string;
  type: "counter" | "gauge";
  help: string;
  value: number;
  labels?: Labels;
}

export class Metrics {
  #families = new Map<string, Family>();
  #collectors = new Set<() => Sample[]>();

  #family(name: string, type: Family["type"], help: string): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { type, help, values: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  inc(name: string, help: string, labels?: Labels, by = 1): void {
    const f = this.#family(name, "counter", help);
    const k = labelKey(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  /** Moves a gauge by `by` (+1 on open, -1 on close); `by = 0` shows it before it moves. */
  add(name: string, help: string, by: number, labels?: Labels): void {
    const f = this.#family(name, "gauge", help);
    const k = labelKey(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  set(name: string, help: string, value: number, labels?: Labels): void {
    this.#family(name, "gauge", help).values.set(labelKey(labels), value);
  }

  get(name: string, labels?: Labels): number | undefined {
    return this.#families.get(name)?.values.get(labelKey(labels));
  }

  /** Adds a function whose samples are computed at scrape time. */
  collect(fn: () => Sample[]): () => void {
    this.#collectors.add(fn);
    return () => this.#collectors.delete(fn);
  }

  render(): string {
    const merged = new Map<string, Family>();
    for (const [name, f] of this.#families) {
      merged.set(name, { ...f, values: new Map(f.values) });
    }
    for (const fn of this.#collectors) {
      for (const s of fn()) {
        let f = merged.get(s.name);
        if (!f) {
          f = { type: s.type, help: s.help, values: new Map() };
          merged.set(s.name, f);
        }
        f.values.set(labelKey(s.labels), s.value);
      }
    }
    let out = "";
    for (const [name, f] of merged) {
      out += `# HELP ${name} ${f.help}\n# TYPE ${name} ${f.type}\n`;
      for (const [k, v] of f.values) out += `${name}${k} ${v}\n`;
    }
    return out;
  }
}
