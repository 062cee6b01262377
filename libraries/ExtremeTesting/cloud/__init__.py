"""ExtremeTesting.cloud"""
