"""dad_studio.cli"""
