"""ExtremeTesting.power"""
