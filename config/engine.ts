// The config as the Pulumi engine and CLI give it: full keys with their namespaces, the running
// stack's config under the engine (\`pulumi up\`, preview), and this program's keys of it.
import * as pulumi from "@pulumi/pulumi";
import { providerAdvice } from "./advice";
import { ConfigError } from "./errors";
import { ParsedConfig, parseConfig, sections } from "./parse";
import { RawConfig, Settings, configNamespace } from "./schema";
import { closest, shown, shownKey } from "./text";

/**
 * Parses a whole stack config: full keys (`drs-cross-account-kms:deploy`, `aws:region`), values as
 * the stack file or the engine gives them (objects parsed, secretPlaceholder for what cannot be
 * decrypted). A key of a namespace one or two letters off this program's, or one of this program's
 * keys under another namespace, is a problem: the program would never read it.
 */
export function parseStackConfig(config: Record<string, unknown>): ParsedConfig {
    const astray = Object.keys(config).flatMap((full) => {
        const [namespace, key] = [full.slice(0, full.indexOf(":")), full.slice(full.indexOf(":") + 1)];
        if (namespace === configNamespace || ["aws", "aws-native", "pulumi"].includes(namespace)) return [];
        const nearName = closest(namespace, [configNamespace]) !== undefined;
        const ours = (sections as string[]).includes(key.split(".")[0]);
        if (!nearName && !ours) return [];
        const named = shownKey(key);
        return [
            `${shownKey(full)} is under the namespace ${shown(namespace)}, which this program never reads: ` +
                `did you mean ${configNamespace}:${named}? (pulumi config set ${nearName ? "" : "--path "}'${configNamespace}:${named}' ...)`,
        ];
    });
    let parsed: ParsedConfig | undefined;
    let problems = astray;
    try {
        parsed = parseConfig(programConfig(config));
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = [...astray, ...err.problems];
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return parsed!;
}

/** This program's keys of a stack's config (full keys, such as `drs-cross-account-kms:deploy`), without the namespace. */
export function programConfig(config: Record<string, unknown>): RawConfig {
    const prefix = `${configNamespace}:`;
    return Object.fromEntries(
        Object.entries(config).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])),
    );
}

/**
 * Reads and validates the running stack's config (objects arrive JSON-encoded, plain strings as
 * they are). Problems end the program with one message and no stack trace (pulumi.RunError);
 * warnings go to the Pulumi log.
 */
export function readProgramSettings(): Settings {
    const decode = (value: string): unknown => {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    };
    try {
        const config = Object.fromEntries(Object.entries(pulumi.runtime.allConfig()).map(([key, value]) => [key, decode(value)]));
        const { settings, warnings } = parseStackConfig(config);
        const listsTargets = programConfig(config).targets !== undefined;
        for (const warning of [...warnings, ...providerAdvice(settings, listsTargets)]) pulumi.log.warn(warning);
        return settings;
    } catch (err) {
        throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
    }
}
