"""ICS metrics: partnership (patient-flow interdependence) and inequality."""
