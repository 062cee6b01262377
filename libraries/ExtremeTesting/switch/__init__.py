"""ExtremeTesting.switch"""
