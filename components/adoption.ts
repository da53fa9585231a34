import * as pulumi from "@pulumi/pulumi";

/**
 * One rule for every AWS resource the program adopts or that DRS cannot lose (templates here,
 * keys and their aliases too): `import` adopts an existing resource once, and `retainOnDelete`
 * keeps the resource in AWS when it leaves the stack (an edited config, or `pulumi destroy`).
 * Keeping is the default and does not depend on the import ID staying in the config: an adopted
 * resource is the account's own long after the import, and Pulumi records `retainOnDelete` in the
 * state with every update, so it must not flip when the import ID is cleaned away.
 */
export interface Adoption {
    /** Adopt this existing resource (its import ID) instead of creating one. Plain value. */
    importId?: string;
    /** Keep the resource in AWS when it leaves the stack. Default true. Plain value. */
    retainOnDelete?: boolean;
}

export function adoptionOptions(adoption: Adoption): pulumi.CustomResourceOptions {
    return { import: adoption.importId, retainOnDelete: adoption.retainOnDelete ?? true };
}
