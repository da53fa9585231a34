// `synth --format json`: the plan with what it costs a month and how much of each quota it uses.
import { Plan, SynthResult } from "./plan";
import { CostEstimate, PriceTable, ServerCount, estimateCost, listPrices } from "./pricing";
import { Capacity, capacityOf } from "./quotas";

/** `synth --format json`: the plan, then what it costs a month and how much of each quota it uses (with the stacks it reads). */
export interface PlanDocument extends Plan {
    cost: CostEstimate;
    capacity: Capacity;
}

export interface EstimateOptions {
    /** The price table (--prices); default the list prices of plan/pricing.ts. */
    prices?: PriceTable;
    /** --servers: DRS's own charge and the staging capacity they need. */
    servers?: ServerCount;
}

export function planDocument(result: SynthResult, options: EstimateOptions = {}): PlanDocument {
    return {
        ...result.plan,
        cost: estimateCost(result, options.prices ?? listPrices, options.servers),
        capacity: capacityOf(result, options.servers),
    };
}
