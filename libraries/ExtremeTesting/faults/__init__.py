"""ExtremeTesting.faults"""
