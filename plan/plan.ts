// The offline plan's shape: what synth returns for a stack (its resources and outputs, and the
// plans of the stacks it references), read by the text, the access report, the map, cost and quotas.

export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the provider the resource was created with. */
    provider?: string;
    /** URN of the component the resource belongs to (absent for the stack's own resources). */
    parent?: string;
    /** The values the program passed (policy documents exactly as given). */
    inputs: Record<string, unknown>;
    /** What the mocked provider answered. */
    state: Record<string, unknown>;
}

export interface Plan {
    project: string;
    stack: string;
    /** Config keys whose values are secrets (`secure:`): the plan ran with a placeholder for each. */
    secretConfigKeys: string[];
    resources: PlannedResource[];
    outputs: Record<string, unknown>;
}

export interface SynthResult {
    plan: Plan;
    warnings: string[];
    /** Plans of the stacks this one references, by the referenced name. */
    references: Record<string, SynthResult>;
    /** The config the program ran with (full keys; secrets as their placeholder), for the quotas it sets. */
    config?: Record<string, unknown>;
}
