"""ExtremeTesting.monitor"""
