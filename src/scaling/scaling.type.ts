import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'The scaling signal of one configuration, as Kubernetes HPA computes it: desiredInstances = ceil(activeInstances × utilisation / targetUtilisation), ' +
    'unchanged within the tolerance band, at least 1 while an instance is active, and lowered only as far as the scale-down stabilisation window allows. ' +
    'The registry recommends; it starts nothing.',
})
export class ScalingRecommendation {
  @Field(() => Int, { description: 'Instances with registrationStatus active when it was computed.' })
  activeInstances!: number;

  @Field(() => Float, { description: 'Sum of their currentWorkload (a whole number).' })
  workload!: number;

  @Field(() => Float, { description: 'activeInstances × maxWorkload (a whole number).' })
  capacity!: number;

  @Field(() => Float, { description: 'workload / capacity; 0 without active instances.' })
  utilisation!: number;

  @Field(() => Float, { description: 'The target it was computed for (SCALING_TARGET_UTILISATION).' })
  targetUtilisation!: number;

  @Field(() => Int, { description: "This computation's count, before scale-down stabilisation." })
  proposedInstances!: number;

  @Field(() => Int, { description: 'The recommendation: the highest proposal within the stabilisation window.' })
  desiredInstances!: number;

  @Field(() => Date)
  computedAt!: Date;

  @Field(() => Date, { description: 'When desiredInstances last changed (a scaling_recommended event), or was first computed.' })
  changedAt!: Date;
}
