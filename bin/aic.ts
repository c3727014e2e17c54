import { App } from 'aws-cdk-lib';
import { buildAicApp } from '../lib/aic-app.ts';

/**
 * The AuraLink AIC CDK app: one stage per environment of cdk.json's `aic:environments`.
 *
 * The CLI asks the app not to fail on validation errors and filters the report by the stacks it
 * selected; a plain `cdk synth` selects no stack of a stage-only app, so cdk-nag errors would pass
 * silently. The app therefore fails synthesis itself, printing the report instead of throwing.
 */
buildAicApp(
  new App({
    postCliContext: {
      '@aws-cdk/core:failSynthOnValidationErrors': true,
      '@aws-cdk/core:appMode': 'process',
    },
  }),
);
