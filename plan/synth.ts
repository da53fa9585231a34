// The offline plan: runs index.ts under mocks with a stack's config and returns what it would
// register, with realistic IDs and ARNs. A StackReference to a stack of this project is fed by
// synthesizing that stack first.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { RecordingMocks, Registration, runProgram } from "./mockRuntime";
import { Plan, SynthResult } from "./plan";
import { readProjectFile, readStackConfigFiles, readStackFile } from "../config/files";
import { UsageError } from "../config/errors";

/** A mistake of the user's (config, missing stack file): shown as a message, without a stack trace. */
export class SynthError extends UsageError {
    constructor(message: string) {
        super(message);
        this.name = "SynthError";
    }
}

export interface SynthOptions {
    /** The project folder (with Pulumi.yaml). Default: the repository root. */
    projectDir?: string;
    /** The stack's config file. Default: Pulumi.<stack>.yaml in the project folder. */
    configFile?: string;
}

const defaultProjectDir = path.join(__dirname, "..");

export function projectName(projectDir: string): string {
    return readProjectFile(projectDir).name;
}

/** The `config:` map of a stack file alone, with its keys as written, values as YAML gives them. */
export function readStackConfig(file: string): Record<string, unknown> {
    return readStackFile(file).config;
}

export async function synthesize(stack: string, options: SynthOptions = {}, chain: string[] = []): Promise<SynthResult> {
    const projectDir = options.projectDir ?? defaultProjectDir;
    const projectFile = readProjectFile(projectDir);
    const project = projectFile.name;
    const stackConfig = readStackConfigFiles(projectFile, stack, options.configFile);
    const { config, secretKeys } = stackConfig;
    const toPlan = (registrations: Registration[], outputs: Record<string, unknown>) =>
        planOf(project, stack, secretKeys, registrations, outputs);
    const warningsOf = (run: { warnings: string[] }) => [...stackConfig.warnings, ...run.warnings];
    const run = (stackOutputs: Record<string, Record<string, unknown>>, onStart?: (m: RecordingMocks) => void) =>
        runProgram(config, { project, stack, stackOutputs, onStart, stackTraces: false });

    // First pass: which stacks does the program reference? They are answered with no outputs.
    let mocks: RecordingMocks | undefined;
    let first: Awaited<ReturnType<typeof run>> | undefined;
    let failure: unknown;
    try {
        first = await run({}, (m) => (mocks = m));
    } catch (err) {
        failure = err;
    }
    const referenced = [...new Set(mocks?.missingStacks ?? [])];
    if (referenced.length === 0) {
        if (!first) throw asSynthError(failure, stack);
        return { plan: toPlan(first.mocks.registrations, first.outputs), warnings: warningsOf(first), references: {}, config };
    }

    const references: Record<string, SynthResult> = {};
    for (const name of referenced) {
        const referencedStack = name.split("/").pop()!;
        if ([...chain, stack].includes(referencedStack)) {
            throw new SynthError(
                `Stack ${stack} references ${name}, which references it back: ${[...chain, stack, referencedStack].join(" -> ")}.`,
            );
        }
        if (!fs.existsSync(path.join(projectDir, `Pulumi.${referencedStack}.yaml`))) {
            throw new SynthError(
                `Stack ${stack} references ${name}, but the project has no Pulumi.${referencedStack}.yaml to plan it from. ` +
                    `Add that stack file, or correct drs-cross-account-kms:stagingStacks.`,
            );
        }
        references[name] = await synthesize(referencedStack, { projectDir }, [...chain, stack]);
    }
    const stackOutputs = Object.fromEntries(Object.entries(references).map(([name, r]) => [name, r.plan.outputs]));
    try {
        const second = await run(stackOutputs);
        return { plan: toPlan(second.mocks.registrations, second.outputs), warnings: warningsOf(second), references, config };
    } catch (err) {
        throw asSynthError(err, stack);
    }
}

function asSynthError(err: unknown, stack: string): unknown {
    return pulumi.RunError.isInstance(err as Error) ? new SynthError(`Stack ${stack}: ${(err as Error).message}`) : err;
}

function planOf(
    project: string,
    stack: string,
    secretConfigKeys: string[],
    registrations: Registration[],
    outputs: Record<string, unknown>,
): Plan {
    const resources = registrations
        .map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            ...(r.providerUrn ? { provider: r.providerUrn } : {}),
            ...(r.parentUrn ? { parent: r.parentUrn } : {}),
            inputs: r.type.startsWith("pulumi:providers:") ? decodeProviderInputs(r.inputs) : r.inputs,
            state: r.state,
        }))
        .sort((a, b) => a.urn.localeCompare(b.urn));
    return { project, stack, secretConfigKeys, resources, outputs };
}

/** Providers receive nested inputs JSON-encoded; show them as the program passed them. */
function decodeProviderInputs(inputs: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(inputs).map(([key, value]) => {
            if (typeof value === "string" && /^[[{]/.test(value)) {
                try {
                    return [key, JSON.parse(value)];
                } catch {
                    return [key, value];
                }
            }
            return [key, value];
        }),
    );
}
