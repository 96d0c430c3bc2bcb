"""dad_studio.engine"""
