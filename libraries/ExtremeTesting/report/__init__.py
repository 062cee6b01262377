"""ExtremeTesting.report"""
