// Pure policy builders and AWS facts: no Pulumi imports, so tests, tools and components share them.
export * from "./aws";
export * from "./document";
export * from "./keyPolicy";
export * from "./targetPolicy";
export * from "./trustPolicy";
export * from "./alerts";
export * from "./keys";
export * from "./kms";
export * from "./failback";
