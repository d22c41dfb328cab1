"""Simulation (推演): a discrete-event simulation of dispatch on the deployment's road network."""
