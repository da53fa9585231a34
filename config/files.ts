// A stack's config as the Pulumi CLI reads it from files: the project's `config:` block in
// Pulumi.yaml under the stack file's `config:` (the stack file wins, key by key; objects are
// replaced, not merged), keys without a namespace belonging to the project, and `secure:` values
// replaced by the config module's secretPlaceholder. Loads only js-yaml: a broken file fails fast.
// Pulumi's rules: https://www.pulumi.com/docs/iac/concepts/config/#project-level-configuration
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { UsageError } from "./errors";
import { secretPlaceholder } from "./settings";

/**
 * YAML as the Pulumi CLI reads it (Go's yaml.v3): a date such as 2024-01-01 stays the text written,
 * as the CLI passes it, where js-yaml's default schema makes a Date; merge keys (<<) are kept. The
 * core schema has no timestamp, binary, set, omap or pairs types: their explicit tags are errors.
 */
// js-yaml 4 exports its types as `types`; @types/js-yaml does not declare it.
const pulumiYaml = yaml.CORE_SCHEMA.extend({ implicit: [(yaml as unknown as { types: { merge: yaml.Type } }).types.merge] });

/** Stack and project files are a few kilobytes: anything near this is not one. */
export const maxYamlBytes = 1024 * 1024;
/** Values in a document once its aliases are expanded: a billion-laughs document has billions. */
export const maxYamlNodes = 100_000;

/**
 * Reads and parses one YAML file. A syntax error, a duplicate key, a document over maxYamlBytes,
 * or aliases that expand past maxYamlNodes values (or refer to themselves) is a UsageError naming
 * the file, with line and column where YAML gives them.
 */
export function readYamlFile(file: string, what = "file"): unknown {
    let text: string;
    try {
        const size = fs.statSync(file).size;
        if (size > maxYamlBytes) throw new UsageError(`${file}: ${size} bytes is too large for a ${what} (at most ${maxYamlBytes}).`);
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
    }
    let doc: unknown;
    try {
        doc = yaml.load(text, { filename: file, schema: pulumiYaml });
    } catch (err) {
        if (err instanceof yaml.YAMLException) {
            const where = err.mark ? `${file}:${err.mark.line + 1}:${err.mark.column + 1}` : file;
            throw new UsageError(`${where}: ${err.reason ?? err.message}.`);
        }
        throw err;
    }
    const nodes = expandedSize(doc);
    if (nodes === undefined) throw new UsageError(`${file}: an alias refers to the value that contains it: not a ${what}.`);
    if (nodes > maxYamlNodes)
        throw new UsageError(
            `${file}: its aliases expand to more than ${maxYamlNodes} values (a "billion laughs" document?): not a ${what}.`,
        );
    return doc;
}

/**
 * How many values a document holds with every alias expanded, without expanding them: js-yaml
 * shares one object per anchor, so each is counted once and multiplied by its uses. Undefined
 * for a document that contains itself.
 */
function expandedSize(doc: unknown): number | undefined {
    const sizes = new Map<object, number>();
    const open = new Set<object>();
    const size = (value: unknown): number | undefined => {
        if (value === null || typeof value !== "object") return 1;
        const known = sizes.get(value);
        if (known !== undefined) return known;
        if (open.has(value)) return undefined;
        open.add(value);
        let total = 1;
        for (const child of Object.values(value)) {
            const n = size(child);
            if (n === undefined) return undefined;
            // Saturate: past the cap the exact count does not matter.
            total = Math.min(total + n, Number.MAX_SAFE_INTEGER);
        }
        open.delete(value);
        sizes.set(value, total);
        return total;
    };
    return size(doc);
}

export interface ProjectFile {
    name: string;
    /** The project-level config: full keys, with the value each stack gets unless it sets its own. */
    defaults: Record<string, unknown>;
    /** Keys the project declares without a default: each stack must set them. */
    required: string[];
    /** Declared keys with `secret: true`: a stack must set them as `secure:` values. */
    secret: string[];
    file: string;
}

const declarationKeys = new Set(["type", "description", "default", "value", "secret", "items"]);

/** The full key: `deploy` and `drs-cross-account-kms:deploy` are the same key of this project. */
function fullKey(key: string, project: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

/** Pulumi.yaml: the project name and its `config:` block (plain values, and declarations with value or default). */
export function readProjectFile(projectDir: string): ProjectFile {
    const file = path.join(projectDir, "Pulumi.yaml");
    if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file: not a Pulumi project folder.`);
    const doc = readYamlFile(file, "Pulumi project file") as { name?: unknown; config?: unknown } | null;
    if (!doc || typeof doc !== "object" || typeof doc.name !== "string" || doc.name === "")
        throw new UsageError(`${file}: has no project name (name:).`);
    const project = doc.name;
    const config = doc.config ?? {};
    if (typeof config !== "object" || Array.isArray(config) || config === null)
        throw new UsageError(`${file}: config: must be a map of config keys.`);
    const defaults: Record<string, unknown> = {};
    const required: string[] = [];
    const secret: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        const full = fullKey(key, project);
        const ownKey = full.startsWith(`${project}:`);
        // A map is a declaration (type, default, ...); other namespaces' keys only take `value:`.
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
            const unknown = Object.keys(value).filter((k) => !declarationKeys.has(k));
            if (unknown.length > 0)
                throw new UsageError(
                    `${file}: config key ${key}: ${unknown.join(", ")} is not part of a config declaration (type, description, default, value, secret, items); an object value goes under value:.`,
                );
            const declared = value as { default?: unknown; value?: unknown; secret?: unknown };
            if (!ownKey && Object.keys(value).some((k) => k !== "value"))
                throw new UsageError(`${file}: config key ${key} is not this project's: it takes a plain value or value:, no declaration.`);
            if (declared.value !== undefined) defaults[full] = declared.value;
            else if (declared.default !== undefined) defaults[full] = declared.default;
            else required.push(full);
            if (declared.secret === true) secret.push(full);
        } else {
            defaults[full] = value;
        }
    }
    return { name: project, defaults, required, secret, file };
}

export interface StackConfig {
    /** Full keys (`drs-cross-account-kms:deploy`), values as YAML gives them; secure values are secretPlaceholder. */
    config: Record<string, unknown>;
    /** Where each secure value was, as `key` or `key.path[0]`: never its value. */
    secretKeys: string[];
    /** Messages for stderr (an ESC environment that cannot be read offline). */
    warnings: string[];
}

/** The `config:` map of a stack file, with full keys, values as YAML gives them (secure values as they are). */
export function readStackFile(file: string, project?: string): { config: Record<string, unknown>; environment: boolean } {
    if (!fs.existsSync(file)) {
        const stack = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
        const hint = stack ? `: create it (pulumi stack init ${stack}), or name another with --config-file` : "";
        throw new UsageError(`${file}: no such stack config file${hint}.`);
    }
    const doc = readYamlFile(file, "stack config file") as { config?: unknown; environment?: unknown } | null;
    if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc)))
        throw new UsageError(`${file}: not a stack config file (a map with config:).`);
    const config = doc?.config ?? {};
    if (typeof config !== "object" || Array.isArray(config) || config === null)
        throw new UsageError(`${file}: config: must be a map of config keys.`);
    const named = Object.entries(config).map(([key, value]) => [project ? fullKey(key, project) : key, value]);
    return { config: Object.fromEntries(named), environment: doc?.environment !== undefined };
}

/** Is this `{ secure: "v1:..." }`, a value the Pulumi CLI encrypted? */
export function isSecure(value: unknown): boolean {
    return (
        value !== null &&
        typeof value === "object" &&
        !Array.isArray(value) &&
        Object.keys(value).length === 1 &&
        typeof (value as { secure?: unknown }).secure === "string"
    );
}

/** Replaces every secure value (at any depth, as Pulumi allows in objects) by secretPlaceholder; returns where they were. */
export function hideSecrets(config: Record<string, unknown>): { config: Record<string, unknown>; secretKeys: string[] } {
    const secretKeys: string[] = [];
    const walk = (value: unknown, where: string): unknown => {
        if (isSecure(value)) {
            secretKeys.push(where);
            return secretPlaceholder;
        }
        if (Array.isArray(value)) return value.map((v, i) => walk(v, `${where}[${i}]`));
        if (value !== null && typeof value === "object")
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, `${where}.${k}`)]));
        return value;
    };
    const hidden = Object.fromEntries(Object.entries(config).map(([key, value]) => [key, walk(value, key)]));
    return { config: hidden, secretKeys };
}

/**
 * A stack's config from files, as the Pulumi CLI would give it to the program: the project's
 * values and defaults under the stack file's (whole values: the stack's object replaces the
 * project's), secure values hidden. A key the project declares without a default that the
 * stack does not set is an error, as in `pulumi up`.
 */
export function readStackConfigFiles(project: ProjectFile, stack: string, configFile?: string): StackConfig {
    const file = configFile ?? path.join(path.dirname(project.file), `Pulumi.${stack}.yaml`);
    const { config: own, environment } = readStackFile(file, project.name);
    const merged: Record<string, unknown> = { ...project.defaults, ...own };
    const missing = project.required.filter((key) => !(key in merged));
    if (missing.length > 0)
        throw new UsageError(
            `${file}: stack ${stack} is missing configuration value${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (declared in ${project.file} without a default).`,
        );
    const plain = project.secret.filter((key) => key in own && !isSecure(own[key]));
    if (plain.length > 0)
        throw new UsageError(
            `${file}: ${plain.join(", ")} must be a secret (declared secret: true): set it with pulumi config set --secret.`,
        );
    const { config, secretKeys } = hideSecrets(merged);
    const warnings = environment
        ? [`${file} imports a Pulumi ESC environment (environment:), which the offline tools cannot read: its values are left out.`]
        : [];
    if (secretKeys.length > 0)
        warnings.push(
            `${secretKeys.join(", ")} ${secretKeys.length === 1 ? "is a secret" : "are secrets"}: read as "${secretPlaceholder}" (the files hold them encrypted), so the checks do not judge ${secretKeys.length === 1 ? "it" : "them"}.`,
        );
    return { config, secretKeys, warnings };
}
