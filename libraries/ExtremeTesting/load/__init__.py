"""ExtremeTesting.load"""
