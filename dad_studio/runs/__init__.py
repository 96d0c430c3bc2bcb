"""dad_studio.runs"""
