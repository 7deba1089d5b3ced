/** Explanations (browser-safe): attribution methods through the Model interface, their sanity checks, feature visualization. */
